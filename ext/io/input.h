/*
** input.h — a source of bytes for the readers: a file (plain, zstd or gzip,
** detected by magic number) or a memory buffer, read whole or line by line.
**
** Line reading keeps memory bounded by the longest line (capped at
** TL_INPUT_MAX_LINE), which is how NDJSON and CSV stream a file of any size.
** Reading whole is capped at TL_INPUT_MAX_WHOLE: a JSON document larger than
** that is refused with a clear error rather than exhausting memory.
*/
#ifndef TL_INPUT_H
#define TL_INPUT_H

#include "../span/span.h"

#define TL_INPUT_MAX_LINE (256u * 1024u * 1024u)
#define TL_INPUT_MAX_WHOLE (1024u * 1024u * 1024u)

typedef struct tl_input tl_input;

/* Opens a file; compression is detected from the first bytes. */
int tl_input_open_file(tl_input **out, const char *path, tl_err *e);
/* Reads p[0..n) (not copied: must outlive the input).  zstd/gzip magic in
** memory is decompressed too. */
int tl_input_open_mem(tl_input **out, const void *p, size_t n, const char *name,
                      tl_err *e);
void tl_input_close(tl_input *in);

/* The name used in error messages: the path, or the name given for memory. */
const char *tl_input_name(const tl_input *in);
/* "none", "zstd" or "gzip". */
const char *tl_input_compression(const tl_input *in);

/* Up to n decompressed bytes from the start, without consuming them (for
** format detection).  *out points into an internal buffer valid until the
** next call on this input.  Returns bytes available (< n only at EOF), or a
** negative TL_ code. */
long tl_input_peek(tl_input *in, size_t n, const char **out, tl_err *e);

/* The next line without its "\n" or "\r\n".  *line is valid until the next
** call.  Returns TL_OK, TL_DONE at end of input, or a negative TL_ code.
** *lineno is 1-based.  A last line without newline is returned as a line. */
int tl_input_line(tl_input *in, const char **line, size_t *len, tl_err *e);
uint64_t tl_input_lineno(const tl_input *in);

/* Everything not yet consumed, as one NUL-terminated buffer owned by the
** input.  Returns TL_OK or a negative TL_ code (TL_ERANGE past the cap). */
int tl_input_whole(tl_input *in, const char **data, size_t *len, tl_err *e);

/* Decompressed bytes consumed so far (for error offsets and speed figures). */
uint64_t tl_input_offset(const tl_input *in);

#endif
