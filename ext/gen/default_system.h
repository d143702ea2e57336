/*
** default_system.h — the built-in system: an online shop of 24 services
** (20 that record spans, plus PostgreSQL, Valkey, Kafka and Elasticsearch,
** seen through their clients' spans) and 17 request types, modelled on
** the OpenTelemetry demo and on what real captures of it look like
** (../shared/traces/jaeger/skills/).  docs/generator.md documents every
** key; this text is parsed by the same code as users' files.
**
** It is written as plain JSON: TL_GEN_JSON() turns its argument into a
** string literal (the preprocessor escapes the quotes), and comments are
** removed before that, so they document the data without reaching it.
** Keep "??" out of strings (trigraphs) and keep every string on one line.
*/
#ifndef TL_GEN_DEFAULT_SYSTEM_H
#define TL_GEN_DEFAULT_SYSTEM_H

#define TL_GEN_JSON(...) #__VA_ARGS__

static const char tl_gen_default_json[] = TL_GEN_JSON({
  "name": "online-shop",
  "description": "An online shop of 24 services: the default system of tracegen and trace_generate().",
  "start": "2026-01-01T00:00:00Z",
  "arrival_rate": 50,
  "skew_share": 0.02,
  "skew_ms": [2, 40],
  "incomplete_share": 0.01,
  "network": {"median_us": 180, "sigma": 0.5},
  "gap": {"median_us": 25, "sigma": 0.9},
  "retry_backoff": {"median_ms": 12, "sigma": 0.4},
  "client": {"ip": "{client_ip}", "user_agent": "{browser}"},
  "baggage": {"session.id": "{session_id}", "user.tier": "{tier}", "synthetic_request": "{synthetic}"},

  "variables": {
    "user_id": {"type": "uuid", "pool": 40000, "zipf": 0.8},
    "session_id": {"type": "uuid"},
    "request_id": {"type": "uuid", "scope": "span"},
    "order_id": {"type": "uuid"},
    "tracking_id": {"type": "alnum", "len": 18},
    "product_id": {"type": "alnum", "len": 10, "pool": 600, "zipf": 1.0},
    "quantity": {"type": "int", "min": 1, "max": 5},
    "zip": {"type": "int", "min": 10000, "max": 99999},
    "amount": {"type": "double", "min": 4, "max": 1800},
    "currency": {"type": "choice", "values": ["USD", "EUR", "GBP", "JPY", "CAD", "CHF", "TRY"],
                 "weights": [40, 25, 10, 8, 7, 5, 5]},
    "card_type": {"type": "choice", "values": ["visa", "mastercard", "amex"], "weights": [6, 3, 1]},
    "category": {"type": "choice", "values": ["telescopes", "binoculars", "accessories", "assembly",
                 "travel", "books", "flashlights"]},
    "query": {"type": "choice", "pool": 0, "values": ["telescope", "red flashlight", "star chart",
              "lens cleaning kit", "tripod", "binoculars 10x50", "eclipse glasses", "solar filter",
              "roof top tent", "mount", "eyepiece", "finder scope", "astronomy book", "camera adapter"],
              "weights": [20, 6, 8, 3, 9, 5, 7, 4, 1, 6, 5, 2, 3, 2]},
    "flag": {"type": "choice", "values": ["productCatalogFailure", "recommendationCache",
             "adHighCpu", "cartFailure", "paymentFailure", "kafkaQueueProblems"]},
    "email_user": {"type": "hex", "len": 8, "pool": 40000},
    "client_ip": {"type": "ipv4", "prefix": "100.64", "pool": 30000, "zipf": 0.5},
    "browser": {"type": "choice", "values": [
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
      "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
      "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
      "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
      "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 Mobile Safari/537.36",
      "Grafana k6/0.55.0"],
      "weights": [34, 18, 20, 6, 14, 8]},
    "tier": {"type": "choice", "values": ["free", "plus", "premium"], "weights": [70, 22, 8]},
    "synthetic": {"type": "bool", "p": 0.04}
  },

  /* Per language: what its SDK writes into resources, its HTTP client's
     User-Agent, the exception type of a failed downstream call, the style
     of its stack traces, its clock resolution, whether it sets OTLP span
     flags, and its instrumentation scopes per protocol. */
  "runtimes": {
    "go": {"language": "go", "sdk_name": "opentelemetry", "sdk_version": "1.33.0",
           "runtime_name": "go", "runtime_version": "go1.23.4",
           "user_agent": "Go-http-client/1.1", "propagated_error": "*status.Error", "stack": "go",
           "resolution_ns": 1, "span_flags": true,
           "scopes": {"http": ["go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp", "0.58.0"],
                      "grpc": ["go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc", "0.58.0"],
                      "postgresql": ["github.com/XSAM/otelsql", "0.36.0"],
                      "redis": ["github.com/redis/go-redis/extra/redisotel", "9.7.0"],
                      "kafka": ["github.com/IBM/sarama/otelsarama", "0.43.0"],
                      "elasticsearch": ["github.com/elastic/go-elasticsearch", "8.16.0"]}},
    "java": {"language": "java", "sdk_name": "opentelemetry", "sdk_version": "1.45.0",
             "runtime_name": "OpenJDK Runtime Environment", "runtime_version": "21.0.5+11-LTS",
             "user_agent": "Java-http-client/21.0.5", "propagated_error": "io.grpc.StatusRuntimeException",
             "stack": "java", "resolution_ns": 1000, "span_flags": true,
             "scopes": {"http": ["io.opentelemetry.netty-4.1", "2.11.0-alpha"],
                        "grpc": ["io.opentelemetry.grpc-1.6", "2.11.0-alpha"],
                        "postgresql": ["io.opentelemetry.jdbc", "2.11.0-alpha"],
                        "redis": ["io.opentelemetry.lettuce-5.1", "2.11.0-alpha"],
                        "kafka": ["io.opentelemetry.kafka-clients-2.6", "2.11.0-alpha"],
                        "elasticsearch": ["io.opentelemetry.elasticsearch-rest-7.0", "2.11.0-alpha"]}},
    "python": {"language": "python", "sdk_name": "opentelemetry", "sdk_version": "1.29.0",
               "runtime_name": "cpython", "runtime_version": "3.12.8",
               "user_agent": "python-requests/2.32.3", "propagated_error": "grpc._channel._InactiveRpcError",
               "stack": "python", "resolution_ns": 1000, "span_flags": false,
               "scopes": {"http": ["opentelemetry.instrumentation.requests", "0.50b0"],
                          "grpc": ["opentelemetry.instrumentation.grpc", "0.50b0"],
                          "postgresql": ["opentelemetry.instrumentation.psycopg2", "0.50b0"],
                          "redis": ["opentelemetry.instrumentation.redis", "0.50b0"],
                          "kafka": ["opentelemetry.instrumentation.kafka", "0.50b0"],
                          "elasticsearch": ["opentelemetry.instrumentation.elasticsearch", "0.50b0"]}},
    "nodejs": {"language": "nodejs", "sdk_name": "opentelemetry", "sdk_version": "1.30.0",
               "runtime_name": "nodejs", "runtime_version": "22.12.0",
               "user_agent": "node", "propagated_error": "Error", "stack": "node",
               "resolution_ns": 1000, "span_flags": true,
               "scopes": {"http": ["@opentelemetry/instrumentation-http", "0.57.0"],
                          "grpc": ["@opentelemetry/instrumentation-grpc", "0.57.0"],
                          "postgresql": ["@opentelemetry/instrumentation-pg", "0.50.0"],
                          "redis": ["@opentelemetry/instrumentation-ioredis", "0.46.0"],
                          "kafka": ["@opentelemetry/instrumentation-kafkajs", "0.6.0"]}},
    "dotnet": {"language": "dotnet", "sdk_name": "opentelemetry", "sdk_version": "1.10.0",
               "runtime_name": ".NET", "runtime_version": "9.0.0",
               "user_agent": "grpc-dotnet/2.67.0 (.NET 9.0.0; CLR 9.0.0; net9.0; linux; x64)",
               "propagated_error": "Grpc.Core.RpcException", "stack": "dotnet",
               "resolution_ns": 100, "span_flags": true,
               "scopes": {"http": ["Microsoft.AspNetCore", ""],
                          "grpc": ["OpenTelemetry.Instrumentation.GrpcNetClient", "1.10.0-beta.1"],
                          "postgresql": ["Npgsql", "9.0.2"],
                          "redis": ["OpenTelemetry.Instrumentation.StackExchangeRedis", "1.10.0-beta.1"],
                          "kafka": ["Confluent.Kafka.Extensions.OpenTelemetry", "0.4.0"]}},
    "ruby": {"language": "ruby", "sdk_name": "opentelemetry", "sdk_version": "1.6.0",
             "runtime_name": "ruby", "runtime_version": "3.3.6",
             "user_agent": "Ruby", "propagated_error": "Faraday::ServerError", "stack": "ruby",
             "resolution_ns": 1000, "span_flags": false,
             "scopes": {"http": ["OpenTelemetry::Instrumentation::Sinatra", "0.25.0"],
                        "postgresql": ["OpenTelemetry::Instrumentation::PG", "0.29.1"]}},
    "php": {"language": "php", "sdk_name": "opentelemetry", "sdk_version": "1.1.2",
            "runtime_name": "cli", "runtime_version": "8.3.14",
            "user_agent": "GuzzleHttp/7", "propagated_error": "GuzzleHttp\\Exception\\ServerException",
            "stack": "php", "resolution_ns": 1000, "span_flags": false,
            "scopes": {"http": ["io.opentelemetry.contrib.php.slim", ""]}},
    "rust": {"language": "rust", "sdk_name": "opentelemetry", "sdk_version": "0.27.1",
             "runtime_name": "rustc", "runtime_version": "1.83.0",
             "user_agent": "reqwest/0.12.9", "propagated_error": "reqwest::Error", "stack": "rust",
             "resolution_ns": 1, "span_flags": false,
             "scopes": {"http": ["actix-web-opentelemetry", "0.19.0"],
                        "internal": ["shipping", "0.27.1"]}},
    "cpp": {"language": "cpp", "sdk_name": "opentelemetry", "sdk_version": "1.18.0",
            "runtime_name": "gcc", "runtime_version": "13.2.0",
            "user_agent": "envoy", "propagated_error": "std::runtime_error", "stack": "cpp",
            "resolution_ns": 1000, "span_flags": false,
            "scopes": {"grpc": ["currency", "1.18.0"]}}
  },

  /* Resource attributes of every service instance ({field}: the service's
     fields, then its runtime's; {$...}: the instance's identity). */
  "resource": {
    "service.name": "{name}",
    "service.namespace": "shop",
    "service.version": "{version}",
    "service.instance.id": "{$instance_id}",
    "deployment.environment.name": "production",
    "telemetry.sdk.name": "{sdk_name}",
    "telemetry.sdk.language": "{language}",
    "telemetry.sdk.version": "{sdk_version}",
    "process.runtime.name": "{runtime_name}",
    "process.runtime.version": "{runtime_version}",
    "process.pid": "{$pid}",
    "host.name": "{$pod}",
    "host.arch": "amd64",
    "os.type": "linux",
    "k8s.namespace.name": "shop",
    "k8s.deployment.name": "{name}",
    "k8s.pod.name": "{$pod}",
    "k8s.node.name": "{$node}",
    "container.id": "{$container_id}",
    "cloud.provider": "aws",
    "cloud.region": "eu-west-1"
  },

  /* Span names and semantic-convention attributes per protocol and side of
     a call ({field}: the operation's fields, then its service's). */
  "protocols": {
    "http": {
      "server": {"name": "{method} {route}", "attributes": {
        "http.request.method": "{method}",
        "http.route": "{route}",
        "url.path": "{path}",
        "url.scheme": "http",
        "server.address": "{$callee}",
        "server.port": "{$callee_port}",
        "client.address": "{$caller_ip}",
        "network.peer.address": "{$caller_ip}",
        "network.peer.port": "{$caller_port}",
        "network.protocol.version": "1.1",
        "user_agent.original": "{$caller_agent}",
        "http.response.status_code": "{$http_status}",
        "http.response.body.size": "{$body_size}",
        "error.type": {"value": "{$error_type}", "when": "error"}}},
      "client": {"name": "{method}", "attributes": {
        "http.request.method": "{method}",
        "url.full": "http://{$callee}:{$callee_port}{path}",
        "server.address": "{$callee}",
        "server.port": "{$callee_port}",
        "network.peer.address": "{$callee_ip}",
        "network.peer.port": "{$callee_port}",
        "http.response.status_code": "{$http_status}",
        "http.request.resend_count": {"value": "{$attempt}", "when": "retry"},
        "error.type": {"value": "{$error_type}", "when": "error"}}},
      "errors": [
        {"type": "InternalServerError", "message": "Internal Server Error", "http_status": 500, "weight": 3},
        {"type": "ServiceUnavailable", "message": "upstream connect error or disconnect/reset before headers. reset reason: connection termination", "http_status": 503, "weight": 1}]
    },
    "grpc": {
      "server": {"name": "{rpc_service}/{op}", "attributes": {
        "rpc.system": "grpc",
        "rpc.service": "{rpc_service}",
        "rpc.method": "{op}",
        "rpc.grpc.status_code": "{$grpc_code}",
        "server.address": "{$callee}",
        "server.port": "{$callee_port}",
        "network.peer.address": "{$caller_ip}",
        "network.peer.port": "{$caller_port}",
        "error.type": {"value": "{$grpc_status}", "when": "error"}}},
      "client": {"name": "{rpc_service}/{op}", "attributes": {
        "rpc.system": "grpc",
        "rpc.service": "{rpc_service}",
        "rpc.method": "{op}",
        "rpc.grpc.status_code": "{$grpc_code}",
        "server.address": "{$callee}",
        "server.port": "{$callee_port}",
        "network.peer.address": "{$callee_ip}",
        "network.peer.port": "{$callee_port}",
        "error.type": {"value": "{$grpc_status}", "when": "error"}}},
      "errors": [
        {"type": "RpcException", "message": "upstream connect error or disconnect/reset before headers", "grpc_code": 14, "grpc_status": "UNAVAILABLE", "weight": 2},
        {"type": "RpcException", "message": "context deadline exceeded", "grpc_code": 4, "grpc_status": "DEADLINE_EXCEEDED", "weight": 1},
        {"type": "RpcException", "message": "internal error", "grpc_code": 13, "grpc_status": "INTERNAL", "weight": 1}]
    },
    "postgresql": {
      "instrumented": false,
      "client": {"name": "{db_operation} {db_name}.{table}", "attributes": {
        "db.system": "postgresql",
        "db.namespace": "{db_name}",
        "db.collection.name": "{table}",
        "db.operation.name": "{db_operation}",
        "db.query.text": "{statement}",
        "server.address": "{$callee}",
        "server.port": "{$callee_port}",
        "network.peer.address": "{$callee_ip}",
        "db.response.returned_rows": {"value": "{$rows}", "when": "ok"},
        "db.response.status_code": {"value": "{$error_type}", "when": "error"},
        "error.type": {"value": "{$error_type}", "when": "error"}}},
      "errors": [
        {"type": "57014", "message": "canceling statement due to statement timeout", "weight": 3},
        {"type": "40P01", "message": "deadlock detected", "weight": 1},
        {"type": "53300", "message": "sorry, too many clients already", "weight": 1}]
    },
    "redis": {
      "instrumented": false,
      "client": {"name": "{command}", "attributes": {
        "db.system": "redis",
        "db.namespace": "0",
        "db.operation.name": "{command}",
        "db.query.text": "{statement}",
        "server.address": "{$callee}",
        "server.port": "{$callee_port}",
        "network.peer.address": "{$callee_ip}",
        "error.type": {"value": "{$error_type}", "when": "error"}}},
      "errors": [{"type": "RedisTimeoutException", "message": "Timeout performing {command} (5000ms), next: {command}, inst: 0, qu: 0, qs: 3, in: 0"}]
    },
    "elasticsearch": {
      "instrumented": false,
      "client": {"name": "{endpoint}", "attributes": {
        "db.system": "elasticsearch",
        "db.operation.name": "{endpoint}",
        "db.namespace": "{index}",
        "db.query.text": "{statement}",
        "http.request.method": "POST",
        "url.full": "http://{$callee}:{$callee_port}/{index}/_search",
        "server.address": "{$callee}",
        "server.port": "{$callee_port}",
        "http.response.status_code": "{$http_status}",
        "error.type": {"value": "{$error_type}", "when": "error"}}},
      "errors": [{"type": "es_rejected_execution_exception", "message": "rejected execution of coordinating operation", "http_status": 429}]
    },
    "kafka": {
      "messaging": true,
      "producer": {"name": "send {topic}", "attributes": {
        "messaging.system": "kafka",
        "messaging.destination.name": "{topic}",
        "messaging.operation.type": "send",
        "messaging.operation.name": "send",
        "messaging.message.id": "{$message_id}",
        "messaging.kafka.message.key": "{key}",
        "messaging.destination.partition.id": "{$partition}",
        "server.address": "{$callee}",
        "server.port": "{$callee_port}",
        "error.type": {"value": "{$error_type}", "when": "error"}}},
      "consumer": {"name": "process {topic}", "attributes": {
        "messaging.system": "kafka",
        "messaging.destination.name": "{topic}",
        "messaging.operation.type": "process",
        "messaging.operation.name": "process",
        "messaging.consumer.group.name": "{$service}",
        "messaging.message.id": "{$message_id}",
        "messaging.destination.partition.id": "{$partition}",
        "messaging.kafka.offset": "{$offset}",
        "server.address": "{$callee}",
        "server.port": "{$callee_port}"}},
      "errors": [{"type": "KafkaException", "message": "Broker: Not enough in-sync replicas"}]
    }
  },

  "services": [
    {"name": "frontend-proxy", "protocol": "http", "runtime": "cpp", "version": "1.32.2", "instances": 2, "port": 8080,
     "operations": {
       "home": {"method": "GET", "route": "/", "path": "/", "latency": {"median_us": 300, "sigma": 0.4}},
       "product": {"method": "GET", "route": "/product/{{id}}", "path": "/product/{product_id}", "latency": {"median_us": 300, "sigma": 0.4}},
       "category": {"method": "GET", "route": "/category/{{name}}", "path": "/category/{category}", "latency": {"median_us": 300, "sigma": 0.4}},
       "search": {"method": "GET", "route": "/api/search", "path": "/api/search", "latency": {"median_us": 300, "sigma": 0.4}},
       "cart": {"method": "GET", "route": "/cart", "path": "/cart", "latency": {"median_us": 300, "sigma": 0.4}},
       "add_to_cart": {"method": "POST", "route": "/api/cart", "path": "/api/cart", "latency": {"median_us": 300, "sigma": 0.4}},
       "empty_cart": {"method": "DELETE", "route": "/api/cart", "path": "/api/cart", "latency": {"median_us": 300, "sigma": 0.4}},
       "checkout": {"method": "POST", "route": "/api/checkout", "path": "/api/checkout", "latency": {"median_us": 300, "sigma": 0.4}},
       "recommendations": {"method": "GET", "route": "/api/recommendations", "path": "/api/recommendations", "latency": {"median_us": 300, "sigma": 0.4}},
       "ads": {"method": "GET", "route": "/api/data", "path": "/api/data", "latency": {"median_us": 300, "sigma": 0.4}},
       "currency": {"method": "GET", "route": "/api/currency", "path": "/api/currency", "latency": {"median_us": 300, "sigma": 0.4}},
       "shipping": {"method": "GET", "route": "/api/shipping", "path": "/api/shipping", "latency": {"median_us": 300, "sigma": 0.4}},
       "reviews": {"method": "GET", "route": "/api/products/{{id}}/reviews", "path": "/api/products/{product_id}/reviews", "latency": {"median_us": 300, "sigma": 0.4}},
       "login": {"method": "POST", "route": "/api/login", "path": "/api/login", "latency": {"median_us": 300, "sigma": 0.4}},
       "orders": {"method": "GET", "route": "/api/orders", "path": "/api/orders", "latency": {"median_us": 300, "sigma": 0.4}},
       "image": {"method": "GET", "route": "/images/{{file}}", "path": "/images/products/{product_id}.jpg", "latency": {"median_us": 250, "sigma": 0.4}},
       "healthz": {"method": "GET", "route": "/healthz", "path": "/healthz", "latency": {"median_us": 60, "sigma": 0.3, "outlier_p": 0.0005}}
     }},
    {"name": "frontend", "protocol": "http", "runtime": "nodejs", "version": "2.4.1", "instances": 3, "port": 8080,
     "operations": {
       "home": {"method": "GET", "route": "/", "path": "/", "latency": {"median_ms": 6, "sigma": 0.5},
                "attributes": {"app.user.id": "{user_id}", "app.currency": "{currency}"}},
       "product": {"method": "GET", "route": "/product/[productId]", "path": "/product/{product_id}", "latency": {"median_ms": 5, "sigma": 0.5},
                   "attributes": {"app.user.id": "{user_id}", "app.product.id": "{product_id}"}},
       "category": {"method": "GET", "route": "/category/[name]", "path": "/category/{category}", "latency": {"median_ms": 4, "sigma": 0.5},
                    "attributes": {"app.category": "{category}"}},
       "search": {"method": "GET", "route": "/api/search", "path": "/api/search", "latency": {"median_ms": 2, "sigma": 0.5},
                  "attributes": {"app.search.query": "{query}"}},
       "cart": {"method": "GET", "route": "/cart", "path": "/cart", "latency": {"median_ms": 4, "sigma": 0.5},
                "attributes": {"app.user.id": "{user_id}"}},
       "add_to_cart": {"method": "POST", "route": "/api/cart", "path": "/api/cart", "latency": {"median_ms": 1.5, "sigma": 0.5},
                       "attributes": {"app.user.id": "{user_id}", "app.product.id": "{product_id}", "app.product.quantity": "{quantity}"}},
       "empty_cart": {"method": "DELETE", "route": "/api/cart", "path": "/api/cart", "latency": {"median_ms": 1, "sigma": 0.5},
                      "attributes": {"app.user.id": "{user_id}"}},
       "checkout": {"method": "POST", "route": "/api/checkout", "path": "/api/checkout", "latency": {"median_ms": 3, "sigma": 0.5},
                    "attributes": {"app.user.id": "{user_id}", "app.user.currency": "{currency}"}},
       "recommendations": {"method": "GET", "route": "/api/recommendations", "path": "/api/recommendations", "latency": {"median_ms": 1.2, "sigma": 0.5}},
       "ads": {"method": "GET", "route": "/api/data", "path": "/api/data", "latency": {"median_ms": 1, "sigma": 0.5}},
       "currency": {"method": "GET", "route": "/api/currency", "path": "/api/currency", "latency": {"median_ms": 0.8, "sigma": 0.5}},
       "shipping": {"method": "GET", "route": "/api/shipping", "path": "/api/shipping", "latency": {"median_ms": 1, "sigma": 0.5},
                    "attributes": {"app.shipping.zip_code": "{zip}"}},
       "reviews": {"method": "GET", "route": "/api/products/[productId]/reviews", "path": "/api/products/{product_id}/reviews", "latency": {"median_ms": 1, "sigma": 0.5}},
       "login": {"method": "POST", "route": "/api/login", "path": "/api/login", "latency": {"median_ms": 2, "sigma": 0.5},
                 "attributes": {"app.user.id": "{user_id}"}},
       "orders": {"method": "GET", "route": "/api/orders", "path": "/api/orders", "latency": {"median_ms": 2, "sigma": 0.5},
                  "attributes": {"app.user.id": "{user_id}"}},
       "render": {"type": "internal", "name": "render route (app) {route}", "route": "/[page]", "latency": {"median_ms": 3, "sigma": 0.6},
                  "attributes": {"next.span_type": "AppRender.getBodyResult"}}
     }},
    {"name": "product-catalog", "protocol": "grpc", "runtime": "go", "version": "2.4.1", "instances": 3, "port": 3550,
     "rpc_service": "oteldemo.ProductCatalogService",
     "operations": {
       "ListProducts": {"latency": {"median_us": 800, "sigma": 0.5}, "error_rate": 0.0005,
                        "attributes": {"app.products.count": "{$rows}"}},
       "GetProduct": {"latency": {"median_us": 400, "sigma": 0.6}, "error_rate": 0.002,
                      "errors": [{"type": "ProductCatalogFailure", "message": "Error: Product Catalog Fail Feature Flag Enabled", "grpc_code": 13, "grpc_status": "INTERNAL"},
                                 {"type": "NotFound", "message": "no product with ID {product_id}", "grpc_code": 5, "grpc_status": "NOT_FOUND"}],
                      "attributes": {"app.product.id": "{product_id}"}},
       "SearchProducts": {"latency": {"median_ms": 1.5, "sigma": 0.6}, "attributes": {"app.search.query": "{query}"}}
     }},
    {"name": "cart", "protocol": "grpc", "runtime": "dotnet", "version": "2.4.1", "instances": 2, "port": 7070,
     "rpc_service": "oteldemo.CartService",
     "operations": {
       "GetCart": {"latency": {"median_us": 350, "sigma": 0.5}, "attributes": {"app.user.id": "{user_id}"}},
       "AddItem": {"latency": {"median_us": 500, "sigma": 0.5}, "error_rate": 0.003,
                   "errors": [{"type": "Grpc.Core.RpcException", "message": "Status(StatusCode=\"FailedPrecondition\", Detail=\"Can't access cart storage. System.ApplicationException: Wasn't able to connect to redis\")", "grpc_code": 9, "grpc_status": "FAILED_PRECONDITION"}],
                   "attributes": {"app.user.id": "{user_id}", "app.product.id": "{product_id}", "app.product.quantity": "{quantity}"}},
       "EmptyCart": {"latency": {"median_us": 400, "sigma": 0.5}, "attributes": {"app.user.id": "{user_id}"}}
     }},
    {"name": "checkout", "protocol": "grpc", "runtime": "go", "version": "2.4.1", "instances": 2, "port": 5050,
     "rpc_service": "oteldemo.CheckoutService",
     "operations": {
       "PlaceOrder": {"latency": {"median_ms": 2, "sigma": 0.5},
                      "attributes": {"app.user.id": "{user_id}", "app.user.currency": "{currency}", "app.order.id": "{order_id}",
                                     "app.shipping.tracking.id": "{tracking_id}", "app.order.amount": "{amount}"}},
       "prepareOrderItemsAndShippingQuoteFromCart": {"type": "internal", "latency": {"median_us": 300, "sigma": 0.5}}
     }},
    {"name": "payment", "protocol": "grpc", "runtime": "nodejs", "version": "2.4.1", "instances": 2, "port": 50051,
     "rpc_service": "oteldemo.PaymentService",
     "operations": {
       "Charge": {"latency": {"median_ms": 18, "sigma": 0.5, "outlier_p": 0.004, "outlier_factor": [10, 30]}, "error_rate": 0.02,
                  "errors": [{"type": "UnsupportedCardType", "message": "Sorry, we cannot process {card_type} credit cards. Only VISA or MasterCard is accepted.", "grpc_code": 3, "grpc_status": "INVALID_ARGUMENT", "weight": 1},
                             {"type": "GatewayTimeout", "message": "payment gateway did not answer within 3000 ms", "grpc_code": 14, "grpc_status": "UNAVAILABLE", "weight": 3}],
                  "attributes": {"app.payment.card_type": "{card_type}", "app.payment.amount": "{amount}", "app.payment.currency": "{currency}",
                                 "app.payment.charged": {"value": true, "when": "ok"}, "app.loyalty.level": "{tier}"}}
     }},
    {"name": "shipping", "protocol": "http", "runtime": "rust", "version": "2.4.1", "instances": 2, "port": 50050,
     "operations": {
       "GetQuote": {"method": "POST", "route": "/get-quote", "path": "/get-quote", "latency": {"median_us": 700, "sigma": 0.5},
                    "attributes": {"app.shipping.zip_code": "{zip}", "app.shipping.items.count": "{quantity}"}},
       "ShipOrder": {"method": "POST", "route": "/ship-order", "path": "/ship-order", "latency": {"median_us": 900, "sigma": 0.5}, "error_rate": 0.003,
                     "attributes": {"app.shipping.tracking.id": "{tracking_id}"}},
       "create_tracking_id": {"type": "internal", "latency": {"median_us": 40, "sigma": 0.4}}
     }},
    {"name": "quote", "protocol": "http", "runtime": "php", "version": "2.4.1", "instances": 2, "port": 8090,
     "operations": {
       "getquote": {"method": "POST", "route": "/getquote", "path": "/getquote", "latency": {"median_ms": 1.2, "sigma": 0.5}, "error_rate": 0.002,
                    "attributes": {"app.quote.items.count": "{quantity}"}},
       "calculate-quote": {"type": "internal", "latency": {"median_us": 200, "sigma": 0.5}, "attributes": {"app.quote.cost.total": "{amount}"}}
     }},
    {"name": "currency", "protocol": "grpc", "runtime": "cpp", "version": "2.4.1", "instances": 2, "port": 7001,
     "rpc_service": "oteldemo.CurrencyService",
     "operations": {
       "GetSupportedCurrencies": {"latency": {"median_us": 90, "sigma": 0.4}},
       "Convert": {"latency": {"median_us": 120, "sigma": 0.5}, "error_rate": 0.0005,
                   "attributes": {"app.currency.conversion.from": "USD", "app.currency.conversion.to": "{currency}"}}
     }},
    {"name": "recommendation", "protocol": "grpc", "runtime": "python", "version": "2.4.1", "instances": 2, "port": 9001,
     "rpc_service": "oteldemo.RecommendationService",
     "operations": {
       "ListRecommendations": {"latency": {"median_ms": 3, "sigma": 0.6}, "error_rate": 0.002,
                               "attributes": {"app.products_recommended.count": 5, "app.cache_hit": false}},
       "get_product_list": {"type": "internal", "latency": {"median_us": 500, "sigma": 0.5}, "attributes": {"app.products.count": "{$rows}"}}
     }},
    {"name": "ad", "protocol": "grpc", "runtime": "java", "version": "2.4.1", "instances": 2, "port": 9555,
     "rpc_service": "oteldemo.AdService",
     "operations": {
       "GetAds": {"latency": {"median_ms": 1.2, "sigma": 0.7, "outlier_p": 0.003}, "error_rate": 0.005,
                  "errors": [{"type": "io.grpc.StatusRuntimeException", "message": "RESOURCE_EXHAUSTED: ad service is overloaded", "grpc_code": 8, "grpc_status": "RESOURCE_EXHAUSTED"}],
                  "attributes": {"app.ads.contextKeys": "{category}", "app.ads.count": 2, "app.ads.ad_request_type": "TARGETED"}}
     }},
    {"name": "email", "protocol": "http", "runtime": "ruby", "version": "2.4.1", "instances": 1, "port": 6060,
     "operations": {
       "send_order_confirmation": {"method": "POST", "route": "/send_order_confirmation", "path": "/send_order_confirmation",
                                   "latency": {"median_ms": 30, "sigma": 0.6}, "error_rate": 0.01,
                                   "errors": [{"type": "Net::SMTPServerBusy", "message": "421 4.7.0 Try again later, closing connection", "http_status": 500}],
                                   "attributes": {"app.order.id": "{order_id}", "app.email.recipient": "customer-{email_user}@example.com"}}
     }},
    {"name": "fraud-detection", "protocol": "grpc", "runtime": "java", "version": "2.4.1", "instances": 1, "port": 9090,
     "rpc_service": "oteldemo.FraudDetection",
     "operations": {
       "orders": {"type": "consumer", "broker": "kafka", "topic": "orders", "latency": {"median_ms": 6, "sigma": 0.6}, "error_rate": 0.001,
                  "attributes": {"app.order.id": "{order_id}"}}
     }},
    {"name": "accounting", "protocol": "grpc", "runtime": "dotnet", "version": "2.4.1", "instances": 1, "port": 8091,
     "rpc_service": "oteldemo.Accounting",
     "operations": {
       "orders": {"type": "consumer", "broker": "kafka", "topic": "orders", "latency": {"median_ms": 1.5, "sigma": 0.5},
                  "attributes": {"app.order.id": "{order_id}", "app.order.amount": "{amount}"}}
     }},
    {"name": "user", "protocol": "grpc", "runtime": "java", "version": "1.12.0", "instances": 2, "port": 8081,
     "rpc_service": "shop.UserService",
     "operations": {
       "Login": {"latency": {"median_ms": 12, "sigma": 0.3}, "error_rate": 0.01,
                 "errors": [{"type": "shop.auth.InvalidCredentialsException", "message": "invalid credentials for user {user_id}", "grpc_code": 16, "grpc_status": "UNAUTHENTICATED"}],
                 "attributes": {"app.user.id": "{user_id}", "enduser.id": "{user_id}"}},
       "GetProfile": {"latency": {"median_us": 800, "sigma": 0.5}, "attributes": {"app.user.id": "{user_id}"}},
       "ValidateSession": {"latency": {"median_us": 200, "sigma": 0.5}, "attributes": {"app.session.id": "{session_id}"}}
     }},
    {"name": "inventory", "protocol": "grpc", "runtime": "go", "version": "1.3.7", "instances": 2, "port": 8082,
     "rpc_service": "shop.InventoryService",
     "operations": {
       "CheckStock": {"latency": {"median_us": 300, "sigma": 0.5}, "attributes": {"app.product.id": "{product_id}"}},
       "Reserve": {"latency": {"median_us": 450, "sigma": 0.5}, "error_rate": 0.001,
                   "attributes": {"app.product.id": "{product_id}", "app.product.quantity": "{quantity}"}}
     }},
    {"name": "search", "protocol": "http", "runtime": "python", "version": "0.9.4", "instances": 2, "port": 8000,
     "operations": {
       "search": {"method": "GET", "route": "/search", "path": "/search", "latency": {"median_ms": 1.5, "sigma": 0.5},
                  "attributes": {"app.search.query": "{query}", "app.search.results.count": "{$rows}"}}
     }},
    {"name": "review", "protocol": "grpc", "runtime": "python", "version": "1.0.2", "instances": 2, "port": 9002,
     "rpc_service": "shop.ReviewService",
     "operations": {
       "ListReviews": {"latency": {"median_us": 900, "sigma": 0.5}, "attributes": {"app.product.id": "{product_id}"}}
     }},
    {"name": "image-provider", "protocol": "http", "runtime": "cpp", "version": "1.27.3", "instances": 2, "port": 8081,
     "operations": {
       "image": {"method": "GET", "route": "/images/{{file}}", "path": "/images/products/{product_id}.jpg", "latency": {"median_us": 600, "sigma": 0.9}}
     }},
    {"name": "flagd", "protocol": "grpc", "runtime": "go", "version": "0.11.5", "instances": 1, "port": 8013,
     "rpc_service": "flagd.evaluation.v1.Service",
     "operations": {
       "ResolveBoolean": {"latency": {"median_us": 150, "sigma": 0.4}, "attributes": {"feature_flag.key": "{flag}", "feature_flag.provider.name": "flagd"}}
     }},
    {"name": "postgres", "protocol": "postgresql", "instances": 2, "port": 5432, "db_name": "shop",
     "operations": {
       "select_product": {"db_operation": "SELECT", "table": "products", "latency": {"median_us": 500, "sigma": 0.6}, "error_rate": 0.0003,
                          "statement": "SELECT id, name, description, picture, price_currency_code, price_units, price_nanos, categories FROM catalog.products WHERE id = '{product_id}'"},
       "list_products": {"db_operation": "SELECT", "table": "products", "latency": {"median_ms": 2, "sigma": 0.6, "outlier_p": 0.003}, "error_rate": 0.0003,
                         "statement": "SELECT id, name, description, picture, price_currency_code, price_units, price_nanos, categories FROM catalog.products WHERE categories @> ARRAY['{category}'] ORDER BY name LIMIT 20"},
       "select_reviews": {"db_operation": "SELECT", "table": "reviews", "latency": {"median_us": 900, "sigma": 0.6},
                          "statement": "SELECT r.id, r.rating, r.body, r.created_at, u.display_name FROM reviews r JOIN users u ON u.id = r.user_id WHERE r.product_id = '{product_id}' ORDER BY r.created_at DESC LIMIT 10"},
       "select_user": {"db_operation": "SELECT", "table": "users", "latency": {"median_us": 400, "sigma": 0.5},
                       "statement": "SELECT id, email, password_hash, tier FROM users WHERE id = '{user_id}'"},
       "select_orders": {"db_operation": "SELECT", "table": "orders", "latency": {"median_ms": 1.2, "sigma": 0.6},
                         "statement": "SELECT id, created_at, total_units, currency FROM orders WHERE user_id = '{user_id}' ORDER BY created_at DESC LIMIT 10"},
       "select_order_items": {"db_operation": "SELECT", "table": "order_items", "latency": {"median_us": 350, "sigma": 0.5},
                              "statement": "SELECT product_id, quantity, price_units FROM order_items WHERE order_id = '{order_id}'"},
       "check_stock": {"db_operation": "SELECT", "table": "stock", "latency": {"median_us": 300, "sigma": 0.5},
                       "statement": "SELECT available FROM inventory.stock WHERE product_id = '{product_id}' FOR SHARE"},
       "reserve_stock": {"db_operation": "UPDATE", "table": "stock", "latency": {"median_us": 700, "sigma": 0.7}, "error_rate": 0.0005,
                         "statement": "UPDATE inventory.stock SET available = available - {quantity} WHERE product_id = '{product_id}' AND available >= {quantity}"},
       "insert_order": {"db_operation": "INSERT", "table": "orders", "latency": {"median_us": 900, "sigma": 0.5},
                        "statement": "INSERT INTO accounting.orders (id, user_id, total, currency, created_at) VALUES ('{order_id}', '{user_id}', {amount}, '{currency}', now())"},
       "insert_order_item": {"db_operation": "INSERT", "table": "order_items", "latency": {"median_us": 400, "sigma": 0.5},
                             "statement": "INSERT INTO accounting.order_items (order_id, product_id, quantity) VALUES ('{order_id}', '{product_id}', {quantity})"},
       "select_fraud": {"db_operation": "SELECT", "table": "payments", "latency": {"median_ms": 1.5, "sigma": 0.6},
                        "statement": "SELECT count(*) FROM fraud.payments WHERE user_id = '{user_id}' AND created_at > now() - interval '1 day'"}
     }},
    {"name": "valkey-cart", "protocol": "redis", "instances": 1, "port": 6379,
     "operations": {
       "HGET": {"command": "HGET", "statement": "HGET cart:{user_id}", "latency": {"median_us": 180, "sigma": 0.5}, "error_rate": 0.0005},
       "HMSET": {"command": "HMSET", "statement": "HMSET cart:{user_id} {product_id} {quantity}", "latency": {"median_us": 200, "sigma": 0.5}, "error_rate": 0.0005},
       "EXPIRE": {"command": "EXPIRE", "statement": "EXPIRE cart:{user_id} 3600", "latency": {"median_us": 120, "sigma": 0.4}},
       "DEL": {"command": "DEL", "statement": "DEL cart:{user_id}", "latency": {"median_us": 130, "sigma": 0.4}},
       "GET": {"command": "GET", "statement": "GET session:{session_id}", "latency": {"median_us": 140, "sigma": 0.4}},
       "SET": {"command": "SET", "statement": "SET session:{session_id} ? EX 86400", "latency": {"median_us": 160, "sigma": 0.4}}
     }},
    {"name": "kafka", "protocol": "kafka", "instances": 3, "port": 9092, "partitions": 6,
     "queue_delay": {"median_ms": 3, "sigma": 1.1},
     "operations": {
       "orders": {"topic": "orders", "key": "{order_id}", "latency": {"median_us": 900, "sigma": 0.6}, "error_rate": 0.001}
     }},
    {"name": "elasticsearch", "protocol": "elasticsearch", "instances": 3, "port": 9200,
     "operations": {
       "search": {"endpoint": "search", "index": "products",
                  "statement": "{{\"query\":{{\"multi_match\":{{\"query\":\"{query}\",\"fields\":[\"name^3\",\"description\",\"categories\"]}}}},\"size\":20}}",
                  "latency": {"median_ms": 6, "sigma": 0.8, "outlier_p": 0.004}, "error_rate": 0.002}
     }}
  ],

  /* Request types: weighted call trees.  A child is a call, or a group of
     calls made in parallel; "repeat" makes N+1 loops, "retries" retry a
     failed call, "bind" draws variables anew for the call's subtree, and
     "ignore_errors" keeps a failure from failing the caller. */
  "requests": [
    {"name": "home", "weight": 14, "root": {"call": "frontend-proxy/home", "children": [
      {"call": "frontend/home", "children": [
        {"parallel": [
          {"call": "currency/GetSupportedCurrencies"},
          {"call": "product-catalog/ListProducts", "bind": ["category"], "children": [{"call": "postgres/list_products"}]},
          {"call": "cart/GetCart", "children": [{"call": "valkey-cart/HGET"}]},
          {"call": "recommendation/ListRecommendations", "ignore_errors": true, "children": [
            {"call": "recommendation/get_product_list", "children": [
              {"call": "product-catalog/ListProducts", "children": [{"call": "postgres/list_products"}]}]},
            {"call": "flagd/ResolveBoolean", "p": 0.5}]},
          {"call": "ad/GetAds", "ignore_errors": true}]},
        {"call": "currency/Convert", "repeat": [4, 10]},
        {"call": "frontend/render"}]}]}},
    {"name": "product_page", "weight": 22, "root": {"call": "frontend-proxy/product", "children": [
      {"call": "frontend/product", "children": [
        {"call": "product-catalog/GetProduct", "children": [
          {"call": "flagd/ResolveBoolean"},
          {"call": "postgres/select_product"}]},
        {"parallel": [
          {"call": "review/ListReviews", "ignore_errors": true, "children": [{"call": "postgres/select_reviews"}]},
          {"call": "recommendation/ListRecommendations", "ignore_errors": true, "children": [
            {"call": "recommendation/get_product_list", "children": [
              {"call": "product-catalog/ListProducts", "bind": ["category"], "children": [{"call": "postgres/list_products"}]}]}]},
          {"call": "ad/GetAds", "ignore_errors": true},
          {"call": "cart/GetCart", "children": [{"call": "valkey-cart/HGET"}]}]},
        {"call": "currency/Convert"},
        {"call": "frontend/render"}]}]}},
    {"name": "category_page", "weight": 6, "root": {"call": "frontend-proxy/category", "children": [
      {"call": "frontend/category", "children": [
        {"call": "product-catalog/ListProducts", "children": [{"call": "postgres/list_products"}]},
        {"call": "currency/Convert", "repeat": [8, 20], "repeat_parallel": true},
        {"call": "frontend/render"}]}]}},
    {"name": "search", "weight": 8, "root": {"call": "frontend-proxy/search", "children": [
      {"call": "frontend/search", "children": [
        {"call": "search/search", "children": [
          {"call": "elasticsearch/search", "retries": 1},
          {"call": "product-catalog/GetProduct", "repeat": [1, 12], "bind": ["product_id"], "children": [
            {"call": "postgres/select_product"}]}]},
        {"call": "currency/Convert", "repeat": [1, 12]}]}]}},
    {"name": "view_cart", "weight": 8, "root": {"call": "frontend-proxy/cart", "children": [
      {"call": "frontend/cart", "children": [
        {"call": "cart/GetCart", "children": [{"call": "valkey-cart/HGET"}]},
        {"call": "product-catalog/GetProduct", "repeat": [1, 6], "bind": ["product_id"], "children": [
          {"call": "postgres/select_product"}]},
        {"parallel": [
          {"call": "shipping/GetQuote", "children": [{"call": "quote/getquote", "children": [{"call": "quote/calculate-quote"}]}]},
          {"call": "currency/Convert", "repeat": [1, 6], "repeat_parallel": true},
          {"call": "recommendation/ListRecommendations", "ignore_errors": true, "children": [
            {"call": "recommendation/get_product_list", "children": [
              {"call": "product-catalog/ListProducts", "children": [{"call": "postgres/list_products"}]}]}]}]},
        {"call": "frontend/render"}]}]}},
    {"name": "add_to_cart", "weight": 10, "root": {"call": "frontend-proxy/add_to_cart", "children": [
      {"call": "frontend/add_to_cart", "children": [
        {"call": "product-catalog/GetProduct", "children": [{"call": "postgres/select_product"}]},
        {"call": "inventory/CheckStock", "children": [{"call": "postgres/check_stock"}]},
        {"call": "cart/AddItem", "retries": 1, "children": [
          {"call": "valkey-cart/HGET"},
          {"call": "valkey-cart/HMSET"},
          {"call": "valkey-cart/EXPIRE"}]}]}]}},
    {"name": "empty_cart", "weight": 1, "root": {"call": "frontend-proxy/empty_cart", "children": [
      {"call": "frontend/empty_cart", "children": [
        {"call": "cart/EmptyCart", "children": [{"call": "valkey-cart/DEL"}]}]}]}},
    {"name": "checkout", "weight": 4, "root": {"call": "frontend-proxy/checkout", "children": [
      {"call": "frontend/checkout", "children": [
        {"call": "checkout/PlaceOrder", "children": [
          {"call": "checkout/prepareOrderItemsAndShippingQuoteFromCart", "children": [
            {"call": "cart/GetCart", "children": [{"call": "valkey-cart/HGET"}]},
            {"call": "product-catalog/GetProduct", "repeat": [1, 6], "bind": ["product_id"], "children": [
              {"call": "flagd/ResolveBoolean"},
              {"call": "postgres/select_product"}]},
            {"call": "currency/Convert", "repeat": [1, 6]},
            {"call": "shipping/GetQuote", "children": [{"call": "quote/getquote", "children": [{"call": "quote/calculate-quote"}]}]}]},
          {"call": "currency/Convert"},
          {"call": "payment/Charge", "retries": 2},
          {"call": "shipping/ShipOrder", "children": [{"call": "shipping/create_tracking_id"}]},
          {"call": "inventory/Reserve", "repeat": [1, 6], "bind": ["product_id", "quantity"], "children": [
            {"call": "postgres/reserve_stock"}]},
          {"call": "cart/EmptyCart", "children": [{"call": "valkey-cart/DEL"}]},
          {"call": "kafka/orders", "consumers": [
            {"call": "accounting/orders", "children": [
              {"call": "postgres/insert_order"},
              {"call": "postgres/insert_order_item", "repeat": [1, 6], "bind": ["product_id", "quantity"]}]},
            {"call": "fraud-detection/orders", "children": [{"call": "postgres/select_fraud"}]}]},
          {"call": "email/send_order_confirmation", "ignore_errors": true}]}]}]}},
    {"name": "recommendations", "weight": 5, "root": {"call": "frontend-proxy/recommendations", "children": [
      {"call": "frontend/recommendations", "children": [
        {"call": "recommendation/ListRecommendations", "children": [
          {"call": "recommendation/get_product_list", "children": [
            {"call": "product-catalog/ListProducts", "bind": ["category"], "children": [{"call": "postgres/list_products"}]}]},
          {"call": "flagd/ResolveBoolean", "p": 0.5}]}]}]}},
    {"name": "ads", "weight": 5, "root": {"call": "frontend-proxy/ads", "children": [
      {"call": "frontend/ads", "children": [{"call": "ad/GetAds"}]}]}},
    {"name": "currency", "weight": 3, "root": {"call": "frontend-proxy/currency", "children": [
      {"call": "frontend/currency", "children": [
        {"call": "currency/GetSupportedCurrencies"},
        {"call": "currency/Convert"}]}]}},
    {"name": "shipping_quote", "weight": 2, "root": {"call": "frontend-proxy/shipping", "children": [
      {"call": "frontend/shipping", "children": [
        {"call": "shipping/GetQuote", "children": [{"call": "quote/getquote", "children": [{"call": "quote/calculate-quote"}]}]},
        {"call": "currency/Convert"}]}]}},
    {"name": "reviews", "weight": 3, "root": {"call": "frontend-proxy/reviews", "children": [
      {"call": "frontend/reviews", "children": [
        {"call": "review/ListReviews", "children": [{"call": "postgres/select_reviews"}]}]}]}},
    {"name": "login", "weight": 3, "root": {"call": "frontend-proxy/login", "children": [
      {"call": "frontend/login", "children": [
        {"call": "user/Login", "children": [
          {"call": "postgres/select_user"},
          {"call": "valkey-cart/SET"}]}]}]}},
    {"name": "order_history", "weight": 2, "root": {"call": "frontend-proxy/orders", "children": [
      {"call": "frontend/orders", "children": [
        {"call": "user/ValidateSession", "children": [{"call": "valkey-cart/GET"}]},
        {"call": "user/GetProfile", "children": [
          {"call": "postgres/select_user"},
          {"call": "postgres/select_orders"},
          {"call": "postgres/select_order_items", "repeat": [0, 10], "bind": ["order_id"]}]}]}]}},
    {"name": "product_image", "weight": 12, "root": {"call": "frontend-proxy/image", "children": [
      {"call": "image-provider/image"}]}},
    {"name": "healthz", "weight": 3, "root": {"call": "frontend-proxy/healthz"}}
  ]
});

#endif
