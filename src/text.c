/*
 * text: hex, UTF-8, the unsafe-character class, percent-encoding and the
 * plain relative path, for both binaries. sluice uses them on every request
 * (the token's hash, the file name in Content-Disposition, the offload URI,
 * the id segment), sluicectl on what it stores and prints, so a name that
 * one accepts or cleans the other treats the same way.
 *
 * Pure and small: every function takes values and writes into the caller's
 * buffer, and none keeps state between calls.
 */
#include <string.h>

#include "text.h"

static const char text_hex_upper[] = "0123456789ABCDEF";

/* The value of hex digit c, or -1. */
int
text_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

/* Returns 1 when s[0..len) is all hex digits (either case), else 0. */
int
text_hex_valid(const char *s, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if (text_hexval((unsigned char)s[i]) == -1)
			return (0);
	return (1);
}

/*
 * Decode hex (a string of exactly 2 * n hex digits, either case) into the
 * n bytes at dst. Returns 0, or -1 for any other length or a non-hex
 * character (dst is then undefined).
 */
int
text_hex_decode(unsigned char *dst, size_t n, const char *hex)
{
	size_t	 i;

	if (strlen(hex) != 2 * n || !text_hex_valid(hex, 2 * n))
		return (-1);
	for (i = 0; i < n; i++)
		dst[i] = (unsigned char)(text_hexval((unsigned char)hex[2 * i])
		    << 4 | text_hexval((unsigned char)hex[2 * i + 1]));
	return (0);
}

/*
 * Decode one UTF-8 character at s[0..len), len >= 1. Returns its length
 * and sets *cp, or returns 1 with *cp = -1 for an invalid byte (overlong
 * forms, surrogates and values past U+10FFFF included).
 */
size_t
text_utf8_next(const unsigned char *s, size_t len, long *cp)
{
	size_t	 n, i;
	long	 v, min;

	if (s[0] < 0x80) {
		*cp = s[0];
		return (1);
	}
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2; v = s[0] & 0x1f; min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3; v = s[0] & 0x0f; min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4; v = s[0] & 0x07; min = 0x10000;
	} else {
		*cp = -1;
		return (1);
	}
	if (n > len) {
		*cp = -1;
		return (1);
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			*cp = -1;
			return (1);
		}
		v = v << 6 | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) {
		*cp = -1;
		return (1);
	}
	*cp = v;
	return (n);
}

/*
 * Returns 1 when s is valid UTF-8 (text_utf8_next's reading: no overlong
 * forms, surrogates or values past U+10FFFF), else 0.
 */
int
text_utf8_valid(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t	 i = 0, len = strlen(s);
	long	 cp;

	while (i < len) {
		i += text_utf8_next(u + i, len - i, &cp);
		if (cp == -1)
			return (0);
	}
	return (1);
}

/*
 * Characters that never reach a user as they are, in a file name sent in
 * Content-Disposition or printed on a terminal: C0 and C1 controls, DEL,
 * the bidirectional controls that can disguise an extension
 * ("invoice\u202Efdp.exe"), and the Unicode line separators. Returns 1
 * for those, else 0.
 */
int
text_char_unsafe(long cp)
{
	return (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x061c ||
	    cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
	    (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 || cp == 0x2029);
}

/*
 * Clean src[0..len) into dst (dstsz >= 1 bytes with the NUL) for showing
 * to a user as valid UTF-8: each invalid byte becomes bad, each unsafe
 * character (text_char_unsafe) becomes unsafe, or is dropped when unsafe
 * is '\0'; other characters are copied whole. Stops with *over set at the
 * first that does not fit (else *over is 0). Returns the length written.
 */
size_t
text_clean(char *dst, size_t dstsz, const char *src, size_t len, char bad,
    char unsafe, int *over)
{
	const unsigned char *u = (const unsigned char *)src;
	const char	*from;
	size_t		 i = 0, o = 0, n, need;
	long		 cp;

	*over = 0;
	while (i < len) {
		n = text_utf8_next(u + i, len - i, &cp);
		if (cp == -1) {
			from = &bad;
			need = 1;
		} else if (text_char_unsafe(cp)) {
			from = &unsafe;
			need = unsafe != '\0';
		} else {
			from = src + i;
			need = n;
		}
		if (o + need >= dstsz) {
			*over = 1;
			break;
		}
		memcpy(dst + o, from, need);
		o += need;
		i += n;
	}
	dst[o] = '\0';
	return (o);
}

/*
 * A file name of any length, src[0..len), cleaned as text_clean does
 * (invalid bytes '_', unsafe characters dropped) into dst (dstsz bytes
 * with the NUL). One that does not fit is cut at a character boundary
 * and keeps its extension (a final ".xyz" of up to extmax bytes, at most
 * TEXT_EXT_MAX, when dstsz leaves room for more than it), so that the
 * saved file still opens with the right program. Never fails: returns
 * the length written.
 */
size_t
text_name_shorten(char *dst, size_t dstsz, const char *src, size_t len,
    size_t extmax)
{
	char	 ext[TEXT_EXT_MAX + 1];
	size_t	 dot, elen = 0, hlen;
	int	 over;

	hlen = text_clean(dst, dstsz, src, len, '_', '\0', &over);
	if (!over)
		return (hlen);
	if (extmax > TEXT_EXT_MAX)
		extmax = TEXT_EXT_MAX;
	if (dstsz <= 2 * sizeof(ext))
		extmax = 0;
	for (dot = len; dot > 0 && len - (dot - 1) <= extmax; dot--)
		if (src[dot - 1] == '.') {
			elen = text_clean(ext, sizeof(ext), src + dot - 1,
			    len - (dot - 1), '_', '\0', &over);
			len = dot - 1;
			break;
		}
	hlen = text_clean(dst, dstsz - elen, src, len, '_', '\0', &over);
	memcpy(dst + hlen, ext, elen);
	dst[hlen + elen] = '\0';
	return (hlen + elen);
}

/* Does byte c stay as it is in the class keep? */
static int
text_pct_keeps(unsigned char c, enum text_pct_keep keep)
{
	if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9'))
		return (1);
	switch (keep) {
	case TEXT_PCT_SEGMENT:
		return (c == '-' || c == '.' || c == '_' || c == '~');
	case TEXT_PCT_PATH:
		return (c == '-' || c == '.' || c == '_' || c == '~' ||
		    c == '/');
	case TEXT_PCT_ATTR:
		return (c != '\0' && strchr("!#$&+-.^_`|~", c) != NULL);
	}
	return (0);
}

/*
 * Percent-encode the string src into dst (dstsz bytes with the NUL): the
 * bytes of class keep stay, every other byte becomes %XX. Returns 0, or -1
 * when dst is too small (dst is then the empty string).
 */
int
text_pct_encode(char *dst, size_t dstsz, const char *src,
    enum text_pct_keep keep)
{
	const unsigned char *p;
	size_t		 o = 0;

	if (dstsz == 0)
		return (-1);
	for (p = (const unsigned char *)src; *p != '\0'; p++) {
		if (text_pct_keeps(*p, keep)) {
			if (o + 1 >= dstsz)
				goto toolong;
			dst[o++] = (char)*p;
		} else {
			if (o + 3 >= dstsz)
				goto toolong;
			dst[o++] = '%';
			dst[o++] = text_hex_upper[*p >> 4];
			dst[o++] = text_hex_upper[*p & 0x0f];
		}
	}
	dst[o] = '\0';
	return (0);
toolong:
	dst[0] = '\0';
	return (-1);
}

/*
 * Percent-decode src[0..len) into dst (dstsz bytes with the NUL). Returns
 * the decoded length, or -1 for a malformed escape, a decoded NUL, or a
 * result that does not fit.
 */
long
text_pct_decode(char *dst, size_t dstsz, const char *src, size_t len)
{
	size_t	 i, o = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)src[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= len)
				return (-1);
			hi = text_hexval((unsigned char)src[i + 1]);
			lo = text_hexval((unsigned char)src[i + 2]);
			if (hi < 0 || lo < 0)
				return (-1);
			c = (unsigned char)(hi * 16 + lo);
			if (c == '\0')
				return (-1);
			i += 2;
		}
		if (o + 1 >= dstsz)
			return (-1);
		dst[o++] = (char)c;
	}
	dst[o] = '\0';
	return ((long)o);
}

/*
 * Is path a plain relative path: 1 to TEXT_PATH_MAX bytes, not absolute,
 * and no empty, "." or ".." segment (so no trailing '/' either)? Returns 1
 * or 0. sluice refuses any other file_path, because a web server that is
 * handed the path (offload) resolves it again itself, so it must mean the
 * same file to it as to openat2; sluicectl never touches one.
 */
int
text_path_plain(const char *path)
{
	const char	*p = path;
	size_t		 len;

	if (*p == '\0' || *p == '/' || strlen(path) > TEXT_PATH_MAX)
		return (0);
	for (;;) {
		len = strcspn(p, "/");
		if (len == 0 || (len == 1 && p[0] == '.') ||
		    (len == 2 && p[0] == '.' && p[1] == '.'))
			return (0);
		if (p[len] == '\0')
			return (1);
		p += len + 1;
	}
}
