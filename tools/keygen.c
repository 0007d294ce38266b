/*
 * keygen.c — `shmlog keygen [--public] KEYFILE`: make the key of encrypted
 * log files (shared/encfile.h).
 *
 * Without --public: KEYFILE holds 32 random bytes (libsodium's generator),
 * mode 0600, the key_file of an encrypt group. With --public: a
 * crypto_box key pair; KEYFILE the secret key (0600, for shmlog decrypt
 * only) and KEYFILE.pub the public key (0644, the recipient_file of the
 * collector, which then cannot read what it writes). An existing file is
 * never overwritten. Prints the key id that headers carry.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shared/encfile.h"
#include "tools/cli.h"

const char usage_keygen[] =
	"usage: shmlog keygen [--public] KEYFILE\n"
	"\n"
	"Write a random 32-byte key to KEYFILE (mode 0600), for a writer's\n"
	"encrypt = { key_file = \"KEYFILE\"; } and shmlog decrypt --key KEYFILE.\n"
	"With --public, write a key pair: KEYFILE, the secret key (0600), which\n"
	"only shmlog decrypt needs, and KEYFILE.pub (0644), for the collector's\n"
	"encrypt = { recipient_file = \"KEYFILE.pub\"; }. An existing file is never\n"
	"overwritten.\n"
	"\n"
	"  -p, --public  write a key pair for public-key mode\n"
	"  -h, --help    print this help\n";

/* Create path (it must not exist) with mode and write the key to it, synced. Returns 0 or -1 (said). */
static int write_key(const char *path, mode_t mode, const uint8_t *key)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0) {
		complain("%s: %s", path, errno == EEXIST ? "exists; not overwriting it" : strerror(errno));
		return -1;
	}
	ssize_t n = fchmod(fd, mode) == 0 ? write(fd, key, ENCFILE_KEY_BYTES) : -1;
	if (n != ENCFILE_KEY_BYTES || fsync(fd) < 0) {
		complain("%s: cannot write the key: %s", path, n < 0 ? strerror(errno) : "short write");
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	return 0;
}

/* Print the key id of key as the headers carry it. */
static void say_id(const char *path, const uint8_t *key)
{
	uint8_t id[ENCFILE_KEY_ID_BYTES];
	encfile_key_id(id, key);
	printf("%s: key id ", path);
	for (unsigned i = 0; i < sizeof id; i++)
		printf("%02x", id[i]);
	putchar('\n');
}

/* The key pair: path (secret) and path.pub. Returns 0 or 1 (said). */
static int keygen_public(const char *path)
{
	char pub_path[PATH_MAX];
	uint8_t pk[crypto_box_PUBLICKEYBYTES], sk[crypto_box_SECRETKEYBYTES];
	if (snprintf(pub_path, sizeof pub_path, "%s.pub", path) >= (int)sizeof pub_path) {
		complain("%s: name too long", path);
		return 1;
	}
	if (access(pub_path, F_OK) == 0) {
		complain("%s: exists; not overwriting it", pub_path);
		return 1;
	}
	crypto_box_keypair(pk, sk);
	int rc = write_key(path, 0600, sk);
	if (rc == 0 && (rc = write_key(pub_path, 0644, pk)) < 0)
		unlink(path);
	sodium_memzero(sk, sizeof sk);
	if (rc == 0)
		say_id(pub_path, pk);
	return rc < 0 ? 1 : 0;
}

int cmd_keygen(int argc, char **argv)
{
	static const struct option opts[] = {
		{"public", no_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	bool public = false;
	int c;
	while ((c = getopt_long(argc, argv, ":ph", opts, NULL)) != -1) {
		switch (c) {
		case 'p': public = true; break;
		case 'h': fputs(usage_keygen, stdout); return 0;
		default: return option_misuse(usage_keygen, "keygen", c, argv);
		}
	}
	if (optind >= argc)
		return misuse(usage_keygen, "keygen", "no KEYFILE given");
	if (optind + 1 < argc)
		return misuse(usage_keygen, "keygen", "more than one KEYFILE given");
	if (encfile_init() < 0) {
		complain("libsodium does not start");
		return 1;
	}
	if (public)
		return keygen_public(argv[optind]);
	uint8_t key[ENCFILE_KEY_BYTES];
	crypto_secretstream_xchacha20poly1305_keygen(key);
	int rc = write_key(argv[optind], 0600, key);
	if (rc == 0)
		say_id(argv[optind], key);
	sodium_memzero(key, sizeof key);
	return rc < 0 ? 1 : 0;
}
