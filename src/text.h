/*
 * text: the byte-level rules that sluice and sluicectl must agree on, written
 * once: hex, UTF-8, the characters never shown to a user, percent-encoding
 * and the plain relative path. Pure: no system calls, no allocation, no
 * globals; every function writes into the caller's buffer.
 */
#ifndef SLUICE_TEXT_H
#define SLUICE_TEXT_H

#include <stddef.h>

#define TEXT_PATH_MAX	4095	/* bytes of a relative path: PATH_MAX - 1 */
#define TEXT_EXT_MAX	16	/* a name's extension this short survives cuts */

/*
 * Which bytes text_pct_encode() leaves as they are; every other byte
 * becomes %XX (upper-case hex).
 */
enum text_pct_keep {
	TEXT_PCT_SEGMENT,	/* RFC 3986 §2.3 unreserved: A-Z a-z 0-9 -._~ */
	TEXT_PCT_PATH,		/* unreserved and '/' */
	TEXT_PCT_ATTR		/* RFC 8187 §3.2.1 attr-char */
};

int	 text_hex_valid(const char *, size_t);
int	 text_hexval(unsigned char);
int	 text_hex_decode(unsigned char *dst, size_t n, const char *hex);
size_t	 text_utf8_next(const unsigned char *, size_t, long *cp);
int	 text_utf8_valid(const char *);
int	 text_char_unsafe(long cp);
size_t	 text_clean(char *dst, size_t dstsz, const char *src, size_t len,
	    char bad, char unsafe, int *over);
size_t	 text_name_shorten(char *dst, size_t dstsz, const char *src,
	    size_t len, size_t extmax);
int	 text_pct_encode(char *dst, size_t dstsz, const char *src,
	    enum text_pct_keep);
long	 text_pct_decode(char *dst, size_t dstsz, const char *src,
	    size_t len);
int	 text_path_plain(const char *);

#endif
