/*
 * http_disp: Content-Disposition (RFC 6266, RFC 8187) and Repr-Digest
 * (RFC 9530) values. Pure: no system calls, no allocation, no globals.
 */
#ifndef SLUICE_HTTP_DISP_H
#define SLUICE_HTTP_DISP_H

#include <stddef.h>

#define HTTP_DIGEST_SIZE	64	/* "sha-256=:<44 base64>:" + NUL */
#define HTTP_NAME_MAX		255	/* bytes of file name kept in headers */
#define HTTP_EXT_MAX		16	/* an extension this short survives cuts */
#define HTTP_DISPOSITION_SIZE	1280	/* fits HTTP_NAME_MAX fully encoded */

int		 http_digest_format(char *, size_t, const char *sha256_hex);
int		 http_disposition_format(char *, size_t, const char *name,
		    const char *fallback);

#endif
