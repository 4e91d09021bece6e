/*
 * http_disp: the headers that describe the file itself: Content-Disposition
 * (RFC 6266, with RFC 8187 encoding of the UTF-8 name) and Repr-Digest
 * (RFC 9530). The name comes from the jobs database, so it is cleaned
 * (text_char_unsafe, invalid UTF-8) and cut to a length a header can carry.
 * Pure: every function writes into the caller's buffer. The ASCII fallback
 * asks libunistring for each character's compatibility decomposition
 * (NFKD) into a buffer on the stack, which it never outgrows.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unictype.h>
#include <uninorm.h>

#include "http_disp.h"
#include "text.h"

/*
 * Repr-Digest (RFC 9530 §3) from a 64-digit hex SHA-256: the 32 bytes in
 * base64 between colons, as a Structured Field byte sequence.
 * Returns 0, or -1 for bad hex or a small dst.
 */
int
http_digest_format(char *dst, size_t sz, const char *hex)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned char	 raw[32];
	size_t		 i, o = 0;

	if (text_hex_decode(raw, sizeof(raw), hex) == -1)
		return (-1);
	/* "sha-256=:" + 44 + ":" + NUL */
	if (sz < 9 + 44 + 1 + 1)
		return (-1);
	memcpy(dst, "sha-256=:", 9);
	o = 9;
	for (i = 0; i < 32; i += 3) {
		unsigned v = (unsigned)raw[i] << 16;

		if (i + 1 < 32)
			v |= (unsigned)raw[i + 1] << 8;
		if (i + 2 < 32)
			v |= raw[i + 2];
		dst[o++] = b64[(v >> 18) & 63];
		dst[o++] = b64[(v >> 12) & 63];
		dst[o++] = i + 1 < 32 ? b64[(v >> 6) & 63] : '=';
		dst[o++] = i + 2 < 32 ? b64[v & 63] : '=';
	}
	dst[o++] = ':';
	dst[o] = '\0';
	return (0);
}

_Static_assert(HTTP_EXT_MAX <= TEXT_EXT_MAX, "one extension rule");

/*
 * Clean name (any length) into dst (HTTP_NAME_MAX + 1 bytes) as valid
 * UTF-8, cut at a character boundary keeping its extension
 * (text_name_shorten). Returns the length.
 */
static size_t
http_name_clean(char *dst, const char *name)
{
	return (text_name_shorten(dst, HTTP_NAME_MAX + 1, name, strlen(name),
	    HTTP_EXT_MAX));
}

/* One code point's full NFKD: U+FDFA, the longest, is 18 long. */
#define HTTP_NFKD_MAX	32

/*
 * Append cp's ASCII fallback at dst[*o] (sz bytes): its NFKD without the
 * combining marks, so "ä" and "é" keep their base letter; dashes become
 * '-' and quotation marks '\'' (a '"' cannot stand in the quoted
 * string); printable ASCII stays, except '\\' and '%'. Anything else is
 * one '_', and none right after another '_' (the name's own included).
 * Returns 0, or -1 when dst is full.
 */
static int
http_fallback_put(char *dst, size_t sz, size_t *o, long cp)
{
	uint32_t	 in = (uint32_t)cp, buf[HTTP_NFKD_MAX], *d, c;
	size_t		 n = HTTP_NFKD_MAX, i;
	char		 ch;

	d = cp < 0 ? NULL : u32_normalize(UNINORM_NFKD, &in, 1, buf, &n);
	if (d != buf) {	/* not a character, or it outgrew buf: never */
		free(d);
		buf[0] = 0xfffd;
		n = 1;
	}
	for (i = 0; i < n; i++) {
		c = buf[i];
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\' &&
		    c != '%' && c != '_')
			ch = (char)c;
		else if (uc_is_general_category(c, UC_CATEGORY_M))
			continue;
		else if (uc_is_property_dash(c))
			ch = '-';
		else if (uc_is_property_quotation_mark(c))
			ch = '\'';
		else if (*o > 0 && dst[*o - 1] == '_')
			continue;
		else
			ch = '_';
		if (*o + 1 >= sz)
			return (-1);
		dst[(*o)++] = ch;
	}
	return (0);
}

/*
 * Content-Disposition for a download (RFC 6266 §4.3):
 *	attachment; filename="<ascii>"; filename*=UTF-8''<pct-encoded>
 * The ASCII fallback is http_fallback_put's, character by character
 * ("Q3 Bericht – März 😀.csv" gives "Q3 Bericht - Marz _.csv").
 * Controls and bidi characters are dropped from both forms. An empty
 * result uses fallback (the job id).
 * Returns 0, or -1 if dst is too small.
 */
int
http_disposition_format(char *dst, size_t sz, const char *name,
    const char *fallback)
{
	char		 clean[HTTP_NAME_MAX + 1];
	size_t		 len, i, o, n;
	long		 cp;
	int		 r;

	len = http_name_clean(clean, name != NULL ? name : "");
	if (len == 0)
		len = http_name_clean(clean, fallback);
	r = snprintf(dst, sz, "attachment; filename=\"");
	if (r < 0 || (size_t)r >= sz)
		return (-1);
	o = (size_t)r;
	for (i = 0; i < len; i += n) {
		n = text_utf8_next((const unsigned char *)clean + i, len - i,
		    &cp);
		if (http_fallback_put(dst, sz, &o, cp) == -1)
			return (-1);
	}
	r = snprintf(dst + o, sz - o, "\"; filename*=UTF-8''");
	if (r < 0 || (size_t)r >= sz - o)
		return (-1);
	o += (size_t)r;
	return (text_pct_encode(dst + o, sz - o, clean, TEXT_PCT_ATTR));
}
