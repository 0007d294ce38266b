/*
 * fuzz_decrypt.c — the encrypted-file reader (shared/encfile.c and its walk
 * in tools/decrypt.c), run as `shmlog decrypt --key KEY -o OUT FILE` runs.
 *
 * The input is an encrypted log file, read with the harness's fixed key
 * (FUZZ_KEY; the seeds were written with it, so a mutation meets the chunk
 * and stream checks, not only the header's). Whatever the bytes, decrypt
 * must return one of its statuses (0 intact, 1 wrong key or damage, 3
 * truncated or unfinished) without a crash, a leak or a hang, and what it
 * says on stderr stays one line per finding (checked by the sanitizers and
 * the replay's time limit; the lines are escaped by complain()).
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "tools/cli.h"

/* The key every seed was sealed with: 32 bytes 0x00, 0x01, ... 0x1f. */
#define FUZZ_KEY_BYTES 32

static char key_path[PATH_MAX], file_path[PATH_MAX];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	uint8_t key[FUZZ_KEY_BYTES];
	for (int i = 0; i < FUZZ_KEY_BYTES; i++)
		key[i] = (uint8_t)i;
	snprintf(key_path, sizeof key_path, "%s/fuzz.key", fz_dir());
	snprintf(file_path, sizeof file_path, "%s/fuzz.enc", fz_dir());
	fz_check(fz_write_file(key_path, key, sizeof key, sizeof key) == 0, "cannot write %s", key_path);
	fz_check(chmod(key_path, 0600) == 0, "chmod %s", key_path);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_check(fz_write_file(file_path, data, size, (off_t)size) == 0, "cannot write %s", file_path);
	char *argv[] = {"decrypt", "--key", key_path, "-o", "/dev/null", file_path, NULL};
	optind = 0; /* glibc: start getopt afresh */
	int rc = cmd_decrypt(6, argv);
	fz_check(rc == 0 || rc == 1 || rc == 3, "decrypt returned %d", rc);
	return 0;
}
