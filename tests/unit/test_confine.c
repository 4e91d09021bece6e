/*
 * test_confine: src/confine.c against a real directory tree (made under
 * $TMPDIR and removed after): what opens beneath the root, what is an
 * escape, a symlink, missing or not a regular file, the parent directory
 * of a path, and the root's own checks. Both sluice (stream_open) and
 * sluicectl (check, purge) go through these functions.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cases.h"
#include "confine.h"

struct tree {
	char	 top[64];	/* mkdtemp: holds root/ and outside/ */
	char	 root[96];
	int	 rootfd;
};

static void
tree_file(const char *dir, const char *name, const char *body)
{
	char	 p[256];
	FILE	*fp;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if ((fp = fopen(p, "w")) == NULL || fputs(body, fp) == EOF ||
	    fclose(fp) != 0)
		fail_msg("cannot write %s", p);
}

static int
tree_setup(void **state)
{
	static struct tree t;
	char	 p[256];
	char	 err[CONFINE_ERR_SIZE];
	const char *tmp = getenv("TMPDIR");

	snprintf(t.top, sizeof(t.top), "%s/confine.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(t.top) == NULL)
		return (-1);
	snprintf(t.root, sizeof(t.root), "%s/root", t.top);
	snprintf(p, sizeof(p), "%s/outside", t.top);
	if (mkdir(t.root, 0755) == -1 || mkdir(p, 0755) == -1)
		return (-1);
	tree_file(p, "secret.txt", "secret\n");
	tree_file(t.root, "f.txt", "hello");
	snprintf(p, sizeof(p), "%s/d", t.root);
	if (mkdir(p, 0755) == -1)
		return (-1);
	tree_file(p, "g.txt", "in d\n");
	snprintf(p, sizeof(p), "%s/link.txt", t.root);
	if (symlink("f.txt", p) == -1)
		return (-1);
	snprintf(p, sizeof(p), "%s/linkdir", t.root);
	if (symlink("d", p) == -1)
		return (-1);
	snprintf(p, sizeof(p), "%s/out", t.root);
	if (symlink("../outside", p) == -1)
		return (-1);
	snprintf(p, sizeof(p), "%s/fifo", t.root);
	if (mkfifo(p, 0644) == -1)
		return (-1);
	if (confine_root_open(t.root, &t.rootfd, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		return (-1);
	}
	*state = &t;
	return (0);
}

static int
tree_teardown(void **state)
{
	struct tree *t = *state;
	char	 cmd[160];

	close(t->rootfd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->top);
	return (system(cmd) == 0 ? 0 : -1);
}

static void
test_file_open(void **state)
{
	static const struct {
		const char		*path;
		enum confine_result	 want;
		int			 err;	/* errno, when one applies */
		mode_t			 type;	/* S_IFMT on OK/NOT_REGULAR */
		int64_t			 size;	/* on OK */
	} cases[] = {
		{ "f.txt", CONFINE_OK, 0, S_IFREG, 5 },
		{ "d/g.txt", CONFINE_OK, 0, S_IFREG, 5 },
		/* openat2 allows a ".." that stays beneath: text_path_plain
		 * refuses it on top, in both binaries. */
		{ "d/../f.txt", CONFINE_OK, 0, S_IFREG, 5 },
		{ "", CONFINE_ABSOLUTE, 0, 0, 0 },
		{ "/etc/passwd", CONFINE_ABSOLUTE, 0, 0, 0 },
		{ "../outside/secret.txt", CONFINE_ESCAPE, EXDEV, 0, 0 },
		{ "d/../../outside/secret.txt", CONFINE_ESCAPE, EXDEV, 0, 0 },
		{ "link.txt", CONFINE_SYMLINK, ELOOP, 0, 0 },
		{ "linkdir/g.txt", CONFINE_SYMLINK, ELOOP, 0, 0 },
		{ "out/secret.txt", CONFINE_SYMLINK, ELOOP, 0, 0 },
		{ "nope", CONFINE_MISSING, ENOENT, 0, 0 },
		{ "nope/x", CONFINE_MISSING, ENOENT, 0, 0 },
		{ "f.txt/x", CONFINE_MISSING, ENOTDIR, 0, 0 },
		{ "d", CONFINE_NOT_REGULAR, 0, S_IFDIR, 0 },
		{ ".", CONFINE_NOT_REGULAR, 0, S_IFDIR, 0 },
		/* O_NONBLOCK: a planted FIFO must not hang the caller. */
		{ "fifo", CONFINE_NOT_REGULAR, 0, S_IFIFO, 0 },
	};
	struct tree	*t = *state;
	struct stat	 st;
	size_t		 i;
	int		 fd;

	for (i = 0; i < NITEMS(cases); i++) {
		const char *tc = cases[i].path;
		enum confine_result r;

		errno = 0;
		fd = 12345;
		r = confine_file_open(t->rootfd, cases[i].path, &fd, &st);
		expect_int(tc, "result", r, cases[i].want);
		if (cases[i].err != 0)
			expect_int(tc, "errno", errno, cases[i].err);
		if (r == CONFINE_OK) {
			expect_int(tc, "type", st.st_mode & S_IFMT,
			    cases[i].type);
			expect_int(tc, "size", st.st_size, cases[i].size);
			expect_int(tc, "fd open", fcntl(fd, F_GETFD) != -1, 1);
			expect_int(tc, "cloexec", fcntl(fd, F_GETFD) &
			    FD_CLOEXEC, FD_CLOEXEC);
			close(fd);
		} else {
			expect_int(tc, "fd", fd, -1);
			if (r == CONFINE_NOT_REGULAR)
				expect_int(tc, "type", st.st_mode & S_IFMT,
				    cases[i].type);
		}
	}
	end_cases();
}

static void
test_parent_open(void **state)
{
	static const struct {
		const char	*path;
		int		 ok;
		int		 err;
		const char	*leaf;
		const char	*dir;	/* relative to the root: its inode */
	} cases[] = {
		{ "f.txt", 1, 0, "f.txt", "." },
		{ "link.txt", 1, 0, "link.txt", "." },	/* leaf not followed */
		{ "d/g.txt", 1, 0, "g.txt", "d" },
		{ "d/nope", 1, 0, "nope", "d" },
		{ "linkdir/g.txt", 0, ELOOP, NULL, NULL },
		{ "out/secret.txt", 0, ELOOP, NULL, NULL },
		{ "nope/x", 0, ENOENT, NULL, NULL },
		{ "f.txt/x", 0, ENOTDIR, NULL, NULL },
		{ "../outside/secret.txt", 0, EINVAL, NULL, NULL },
		{ "/etc/passwd", 0, EINVAL, NULL, NULL },
		{ "d//g.txt", 0, EINVAL, NULL, NULL },
		{ "", 0, EINVAL, NULL, NULL },
	};
	struct tree	*t = *state;
	struct stat	 got, want;
	const char	*leaf;
	size_t		 i;
	int		 fd;

	for (i = 0; i < NITEMS(cases); i++) {
		const char *tc = cases[i].path;

		errno = 0;
		leaf = NULL;
		fd = confine_parent_open(t->rootfd, cases[i].path, &leaf);
		expect_int(tc, "ok", fd != -1, cases[i].ok);
		if (fd == -1) {
			expect_int(tc, "errno", errno, cases[i].err);
			continue;
		}
		expect_str(tc, "leaf", leaf, cases[i].leaf);
		if (fstat(fd, &got) == -1 || fstatat(t->rootfd, cases[i].dir,
		    &want, AT_SYMLINK_NOFOLLOW) == -1)
			case_fail(tc, "fstat: %s", strerror(errno));
		else
			expect_int(tc, "the parent directory",
			    got.st_ino == want.st_ino, 1);
		close(fd);
	}
	end_cases();
}

static void
test_root_open(void **state)
{
	struct tree	*t = *state;
	char		 err[CONFINE_ERR_SIZE], p[160];
	int		 fd = 7;

	snprintf(p, sizeof(p), "%s/nope", t->top);
	assert_int_equal(confine_root_open(p, &fd, err, sizeof(err)), -1);
	assert_int_equal(fd, -1);
	assert_non_null(strstr(err, "export root "));
	assert_non_null(strstr(err, "No such file"));
	snprintf(p, sizeof(p), "%s/f.txt", t->root);
	assert_int_equal(confine_root_open(p, &fd, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "(--root must be a directory)"));
	assert_int_equal(confine_root_open(t->root, &fd, err, sizeof(err)),
	    0);
	assert_true(fd >= 0);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_open),
		cmocka_unit_test(test_parent_open),
		cmocka_unit_test(test_root_open),
	};

	return (cmocka_run_group_tests(tests, tree_setup, tree_teardown));
}
