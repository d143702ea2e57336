-- Error rate by service: spans, failed spans and their share, and the most
-- common status message of the failures.
SELECT service,
       count(*)                                                   AS spans,
       sum(status_code = 'ERROR')                                 AS errors,
       round(100.0 * sum(status_code = 'ERROR') / count(*), 3)    AS error_pct,
       (SELECT status_message FROM spans e
         WHERE e.service IS s.service AND e.status_code = 'ERROR'
           AND e.status_message IS NOT NULL
         GROUP BY status_message ORDER BY count(*) DESC LIMIT 1)  AS top_message
  FROM spans s
 GROUP BY service
 ORDER BY error_pct DESC, spans DESC;
