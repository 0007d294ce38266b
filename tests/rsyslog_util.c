/*
 * rsyslog_util.c — starting, stopping and reading a real rsyslogd for the
 * syslog tests (see rsyslog_util.h). Measured with rsyslog 8.2302: it
 * needs -i (else it fails on the system pid file), chdirs to "/" (every
 * path is absolute), and flushes its output per batch and on SIGTERM.
 */
#include "rsyslog_util.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/e2e_util.h"
#include "tests/helpers.h"

#define RSYSLOGD "/usr/sbin/rsyslogd"
#define RS_START_MS 20000

static const char *const rs_template =
	"template(name=\"t\" type=\"string\" string=\"%pri% %protocol-version% %timestamp:::date-rfc3339% "
	"%hostname% %app-name% %procid% %msgid% %structured-data% %msg%|%$!%\\n\")\n";

static pid_t rs_running[8]; /* for rs_kill_all after a failed assertion */

static void rs_track(pid_t pid, pid_t replace)
{
	for (int i = 0; i < 8; i++)
		if (rs_running[i] == replace) {
			rs_running[i] = pid;
			return;
		}
}

void rs_kill_all(void)
{
	for (int i = 0; i < 8; i++)
		if (rs_running[i] > 0) {
			kill(rs_running[i], SIGKILL);
			th_waitpid_timeout(rs_running[i], 20000);
			rs_running[i] = 0;
		}
}

bool rs_available(void)
{
	return access(RSYSLOGD, X_OK) == 0;
}

unsigned rs_free_port(int type)
{
	int fd = socket(AF_INET, type, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
		  getsockname(fd, (struct sockaddr *)&a, &len) == 0);
	close(fd);
	return ntohs(a.sin_port);
}

/*
 * For th_wait_until: rsyslogd holds r's port (we cannot bind it). A TCP
 * probe sets SO_REUSEADDR, so that only a listener, not the TIME_WAIT of an
 * earlier connection, keeps it from binding.
 */
static bool port_taken(void *arg)
{
	const struct rsyslog *r = arg;
	bool udp = r->input == RS_UDP;
	int fd = socket(AF_INET, udp ? SOCK_DGRAM : SOCK_STREAM, 0), one = 1;
	if (!udp)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)r->port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	bool taken = bind(fd, (struct sockaddr *)&a, sizeof a) != 0 && errno == EADDRINUSE;
	close(fd);
	return taken;
}

/* For th_wait_until: the port file exists and holds a port. */
static bool port_file_written(void *arg)
{
	struct rsyslog *r = arg;
	char path[600];
	snprintf(path, sizeof path, "%s/port", r->dir);
	char *text = th_read_file(path, NULL);
	unsigned port = text ? (unsigned)strtoul(text, NULL, 10) : 0;
	free(text);
	if (port)
		r->port = port;
	return port != 0;
}

/* The TLS input: imtcp over gtls with r's certificate and client check. */
static void write_tls_input(FILE *f, const struct rsyslog *r)
{
	fprintf(f, "global(defaultNetstreamDriverCAFile=\"%s/ca.pem\" defaultNetstreamDriverCertFile=\"%s/%s.pem\" "
		   "defaultNetstreamDriverKeyFile=\"%s/%s.key\")\n",
		r->certs, r->certs, r->server, r->certs, r->server);
	fprintf(f, "module(load=\"imtcp\" streamDriver.name=\"gtls\" streamDriver.mode=\"1\" streamDriver.authMode=\"%s\"%s)\n",
		r->auth, strcmp(r->auth, "anon") ? " permittedPeer=[\"client.test\"]" : "");
	fprintf(f, "input(type=\"imtcp\" address=\"127.0.0.1\" port=\"%u\" listenPortFileName=\"%s/port\" "
		   "ruleset=\"r\")\n", r->port, r->dir);
}

/* The input() statement of r's kind. */
static void write_input(FILE *f, const struct rsyslog *r)
{
	if (r->input == RS_TLS)
		write_tls_input(f, r);
	else if (r->input == RS_RELP)
		fprintf(f, "module(load=\"imrelp\")\ninput(type=\"imrelp\" address=\"127.0.0.1\" port=\"%u\" ruleset=\"r\")\n",
			r->port);
	else if (r->input == RS_UDP)
		fprintf(f, "module(load=\"imudp\")\ninput(type=\"imudp\" address=\"127.0.0.1\" port=\"%u\" ruleset=\"r\")\n",
			r->port);
	else
		fprintf(f, "module(load=\"imptcp\")\ninput(type=\"imptcp\" address=\"127.0.0.1\" port=\"%u\" "
			   "listenPortFileName=\"%s/port\" ruleset=\"r\")\n", r->port, r->dir);
}

static void write_config(const struct rsyslog *r)
{
	char path[600];
	snprintf(path, sizeof path, "%s/rsyslog.conf", r->dir);
	FILE *f = fopen(path, "w");
	cr_assert(f, "cannot write %s", path);
	fprintf(f, "global(workDirectory=\"%s/work\" maxMessageSize=\"64k\")\nmodule(load=\"mmpstrucdata\")\n%s",
		r->dir, rs_template);
	/* RELP: a direct queue writes each message before imrelp acknowledges it, so a kill loses none acknowledged */
	fprintf(f, "ruleset(name=\"r\"%s) {\n  action(type=\"mmpstrucdata\")\n"
		   "  action(type=\"omfile\" file=\"%s\" template=\"t\")\n}\n",
		r->input == RS_RELP ? " queue.type=\"Direct\"" : "", r->out);
	write_input(f, r);
	fclose(f);
}

/* Run rsyslogd on r's config and wait until it listens. */
static void rs_run(struct rsyslog *r)
{
	char conf[600], pidfile[600], port[600], log[600];
	snprintf(conf, sizeof conf, "%s/rsyslog.conf", r->dir);
	snprintf(pidfile, sizeof pidfile, "%s/rsyslogd.pid", r->dir);
	snprintf(port, sizeof port, "%s/port", r->dir);
	snprintf(log, sizeof log, "%s/rsyslogd.log", r->dir);
	unlink(port);
	unlink(pidfile);
	char *argv[] = {RSYSLOGD, "-n", "-f", conf, "-i", pidfile, NULL};
	r->pid = th_spawn(argv, log, log, NULL);
	cr_assert_gt(r->pid, 0);
	rs_track(r->pid, 0);
	/* a TCP input on port 0 writes the port it took; a given port is probed */
	bool up = r->port ? th_wait_until(port_taken, r, RS_START_MS) : th_wait_until(port_file_written, r, RS_START_MS);
	char *said = up ? NULL : th_read_file(log, NULL);
	cr_assert(up, "rsyslogd did not listen within %d ms; it said: %s", RS_START_MS, said ? said : "nothing");
}

/* rs_start's work, on r as set up (its input and TLS fields). */
static void rs_begin(struct rsyslog *r, const char *base, unsigned port)
{
	static int seq;
	snprintf(r->dir, sizeof r->dir, "%s/rsyslog%d", base, seq++);
	snprintf(r->out, sizeof r->out, "%s/received.log", r->dir);
	char work_dir[600];
	snprintf(work_dir, sizeof work_dir, "%s/work", r->dir);
	cr_assert(mkdir(r->dir, 0755) == 0 && mkdir(work_dir, 0755) == 0);
	/* imudp and imrelp cannot say which port they took: one is chosen for them */
	r->port = port ? port : r->input == RS_UDP ? rs_free_port(SOCK_DGRAM) : r->input == RS_RELP ? rs_free_port(SOCK_STREAM) : 0;
	write_config(r);
	rs_run(r);
	if (r->input != RS_UDP) /* later starts take the same port */
		write_config(r);
}

void rs_start(struct rsyslog *r, const char *base, enum rs_input input, unsigned port)
{
	memset(r, 0, sizeof *r);
	r->input = input;
	rs_begin(r, base, port);
}

void rs_start_tls(struct rsyslog *r, const char *base, const char *certs, const char *server, const char *auth)
{
	memset(r, 0, sizeof *r);
	r->input = RS_TLS;
	snprintf(r->certs, sizeof r->certs, "%s", certs);
	r->server = server;
	r->auth = auth;
	rs_begin(r, base, 0);
}

bool rs_relp_available(void)
{
	return rs_available() && access("/usr/lib/x86_64-linux-gnu/rsyslog/imrelp.so", R_OK) == 0;
}

bool rs_tls_available(void)
{
	return rs_available() && access("/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so", R_OK) == 0 &&
	       access("/usr/bin/openssl", X_OK) == 0;
}

/* The openssl commands of rs_make_certs: a CA (name), a certificate (name, CA, CN, SAN) signed by a CA. */
static const char rs_certs_script[] =
	"set -e\ncd \"$1\"\n"
	"ca() { openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout $1.key -out $1.pem "
	"-days 2 -subj \"/CN=shmlog test $1\" -addext basicConstraints=critical,CA:TRUE "
	"-addext keyUsage=critical,keyCertSign,cRLSign; }\n"
	"cert() { openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout $1.key -out $1.csr "
	"-subj \"/CN=$3\"; printf 'subjectAltName=%s\\nextendedKeyUsage=serverAuth,clientAuth\\n' \"$4\" > $1.ext; "
	"openssl x509 -req -in $1.csr -CA $2.pem -CAkey $2.key -CAcreateserial -days 2 -extfile $1.ext -out $1.pem; }\n"
	"ca ca; ca otherca\n"
	"cert server ca receiver.test IP:127.0.0.1,DNS:receiver.test\n"
	"cert other otherca receiver.test IP:127.0.0.1,DNS:receiver.test\n"
	"cert client ca client.test DNS:client.test\n";

char *rs_make_certs(const char *base)
{
	if (!rs_tls_available())
		cr_skip_test("rsyslogd with TLS is not installed (Debian packages rsyslog, rsyslog-gnutls, openssl; "
			     "./dev installs them)");
	char *certs = th_path(base, "certs"), *log = th_path(base, "certs.log");
	cr_assert_eq(mkdir(certs, 0755), 0);
	char *argv[] = {"/bin/sh", "-c", (char *)rs_certs_script, "sh", certs, NULL};
	int st = th_waitpid_timeout(th_spawn(argv, log, log, NULL), 30000);
	char *said = st == 0 ? NULL : th_read_file(log, NULL);
	cr_assert_eq(st, 0, "openssl could not make the certificates: %s", said ? said : "");
	free(log);
	return certs;
}

void rs_restart(struct rsyslog *r)
{
	cr_assert_eq(r->pid, 0, "rsyslogd is still running");
	rs_run(r);
}

static void rs_signal(struct rsyslog *r, int sig)
{
	if (r->pid <= 0)
		return;
	kill(r->pid, sig);
	int st = th_waitpid_timeout(r->pid, 20000);
	rs_track(0, r->pid);
	r->pid = 0;
	cr_assert_neq(st, -1, "rsyslogd did not end");
}

void rs_stop(struct rsyslog *r)
{
	rs_signal(r, SIGTERM);
}

void rs_kill(struct rsyslog *r)
{
	rs_signal(r, SIGKILL);
	/* omfile writes its buffer in pieces: a line the kill cut short is cut away (its record is lost) */
	size_t len = 0;
	char *text = th_read_file(r->out, &len);
	if (!text)
		return;
	char *last_lf = memrchr(text, '\n', len);
	size_t keep = last_lf ? (size_t)(last_lf - text) + 1 : 0;
	if (keep < len)
		cr_assert_eq(truncate(r->out, (off_t)keep), 0);
	free(text);
}

bool rs_wait_lines(struct rsyslog *r, long n, int timeout_ms)
{
	struct file_wait fw = {r->out, n};
	return th_wait_until(file_has_lines, &fw, timeout_ms);
}

char *rs_output(struct rsyslog *r)
{
	char *text = th_read_file(r->out, NULL);
	return text ? text : strdup("");
}
