/*
 * test_router.c — routing records to writers (collector/router.c): each
 * filter alone and combined, stop, default, the absence of routes, the seed
 * example of issue 13, every class of config error with its exact
 * "FILE:LINE: KEY: problem" line, the unreachable-writer warning and
 * --check-config's description. Configs are parsed from strings, so FILE is
 * "config" and LINE counts from the string's first line.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector/router.h"

/* The writers of every test, in config order: bit i of a mask is names[i]. */
static const char *const names[] = {"console", "errors", "security"};
#define N_NAMES 3u
#define CONSOLE (1u << 0)
#define ERRORS (1u << 1)
#define SECURITY (1u << 2)
#define ALL (CONSOLE | ERRORS | SECURITY)

static config_t cfg;
static struct router *rt;
static char warnings[2048];

static void setup(void)
{
	config_init(&cfg);
	rt = NULL;
	warnings[0] = '\0';
}

static void teardown(void)
{
	router_close(rt);
	config_destroy(&cfg);
}

TestSuite(router, .init = setup, .fini = teardown);

static void collect_warning(void *arg, const char *line)
{
	cr_assert_eq(arg, warnings);
	strncat(warnings, line, sizeof warnings - strlen(warnings) - 2);
	strcat(warnings, "\n");
}

/* Parse text and open a router on its routes and default; returns router_open's result. */
static int try_open(const char *text, const config_setting_t *const *writer_settings, struct diag *d)
{
	cr_assert(config_read_string(&cfg, text), "line %d: %s", config_error_line(&cfg),
		  config_error_text(&cfg));
	const config_setting_t *routes = config_lookup(&cfg, "routes");
	const config_setting_t *dflt = config_lookup(&cfg, "default");
	return router_open(&rt, routes, dflt, names, writer_settings, N_NAMES, d, collect_warning,
			   warnings);
}

static void open_ok(const char *text)
{
	struct diag d;
	int r = try_open(text, NULL, &d);
	cr_assert_eq(r, 0, "ret %d (%s)", r, d.msg);
	cr_assert_not_null(rt);
}

/* Open text, expect -EINVAL with exactly the line want. */
static void expect_error(const char *text, const char *want)
{
	struct diag d;
	int r = try_open(text, NULL, &d);
	cr_assert_eq(r, -EINVAL, "ret %d (%s)", r, d.msg);
	cr_assert_str_eq(d.msg, want);
	cr_assert_null(rt);
}

static struct text_record rec(int level, const char *msg)
{
	return (struct text_record){.level = level, .name = "app", .name_len = 3, .msg = msg,
				    .msg_len = msg ? strlen(msg) : 0};
}

static uint32_t route_msg(int level, const char *msg)
{
	struct text_record r = rec(level, msg);
	return router_route(rt, &r);
}

static uint32_t route_fields(const struct text_field *fields, uint32_t n)
{
	struct text_record r = rec(TEXT_LEVEL_INFO, "m");
	r.fields = fields;
	r.n_fields = n;
	return router_route(rt, &r);
}

static struct text_field fi64(const char *key, int64_t v)
{
	return (struct text_field){.key = key, .key_len = (uint32_t)strlen(key), .type = TEXT_FIELD_I64,
				   .v.i = v};
}

static struct text_field fu64(const char *key, uint64_t v)
{
	return (struct text_field){.key = key, .key_len = (uint32_t)strlen(key), .type = TEXT_FIELD_U64,
				   .v.u = v};
}

static struct text_field ff64(const char *key, double v)
{
	return (struct text_field){.key = key, .key_len = (uint32_t)strlen(key), .type = TEXT_FIELD_F64,
				   .v.d = v};
}

static struct text_field fbool(const char *key, bool v)
{
	return (struct text_field){.key = key, .key_len = (uint32_t)strlen(key), .type = TEXT_FIELD_BOOL,
				   .v.b = v};
}

static struct text_field fstr(const char *key, const char *v)
{
	struct text_field f = {.key = key, .key_len = (uint32_t)strlen(key), .type = TEXT_FIELD_STR};
	f.null = v == NULL;
	f.v.s.p = v;
	f.v.s.len = v ? (uint32_t)strlen(v) : 0;
	return f;
}

/* The describe output of the open router, into out. */
static void describe(char *out, size_t size)
{
	FILE *f = fmemopen(out, size, "w");
	cr_assert(f);
	router_describe(rt, f);
	fclose(f);
}

static const char seed_config[] =
	"routes = (\n"
	"  { level = [\"ERROR\", \"CRITICAL\"]; to = [\"errors\", \"console\"]; },\n"
	"  { message = \"(login|logout|permission|access)\"; to = [\"security\"]; stop = true; }\n"
	");\n"
	"default = [\"console\"];\n";

/* ---- the seed example and the shape of the config ---- */

Test(router, seed_example_routes_as_the_issue_says)
{
	open_ok(seed_config);
	cr_assert_eq(route_msg(TEXT_LEVEL_ERROR, "Database error"), ERRORS | CONSOLE);
	cr_assert_eq(route_msg(TEXT_LEVEL_INFO, "User login successful"), SECURITY);
	cr_assert_eq(route_msg(TEXT_LEVEL_INFO, "Processing request"), CONSOLE);
	/* docs/routing.md's fourth row: both routes match */
	cr_assert_eq(route_msg(TEXT_LEVEL_ERROR, "login failed"), ERRORS | CONSOLE | SECURITY);
	cr_assert_str_eq(warnings, "");
}

Test(router, no_routes_sends_every_record_to_every_writer)
{
	open_ok("");
	cr_assert_eq(route_msg(TEXT_LEVEL_TRACE, "x"), ALL);
	cr_assert_eq(route_msg(TEXT_LEVEL_CRITICAL, "y"), ALL);
	cr_assert_str_eq(warnings, "");
}

Test(router, default_without_routes_applies_to_every_record)
{
	open_ok("default = [\"errors\", \"security\"];\n");
	cr_assert_eq(route_msg(TEXT_LEVEL_TRACE, "x"), ERRORS | SECURITY);
	cr_assert_eq(route_msg(TEXT_LEVEL_ERROR, "y"), ERRORS | SECURITY);
}

Test(router, unmatched_record_goes_to_the_default)
{
	open_ok("routes = ( { level = [\"ERROR\"]; to = [\"errors\"]; } );\ndefault = [\"console\"];\n");
	cr_assert_eq(route_msg(TEXT_LEVEL_ERROR, "x"), ERRORS);
	cr_assert_eq(route_msg(TEXT_LEVEL_WARN, "x"), CONSOLE);
}

Test(router, unmatched_record_goes_nowhere_without_a_default)
{
	open_ok("routes = ( { level = [\"ERROR\"]; to = [\"errors\", \"console\", \"security\"]; } );\n");
	cr_assert_eq(route_msg(TEXT_LEVEL_ERROR, "x"), ALL);
	cr_assert_eq(route_msg(TEXT_LEVEL_WARN, "x"), 0);
}

Test(router, empty_routes_list_sends_everything_to_the_default)
{
	open_ok("routes = ();\ndefault = [\"console\", \"errors\", \"security\"];\n");
	cr_assert_eq(route_msg(TEXT_LEVEL_INFO, "x"), ALL);
	router_close(rt);
	config_destroy(&cfg);
	config_init(&cfg);
	open_ok("routes = [];\ndefault = [\"console\", \"errors\", \"security\"];\n");
	cr_assert_eq(route_msg(TEXT_LEVEL_INFO, "x"), ALL);
}

Test(router, empty_default_drops_unmatched_records)
{
	open_ok("routes = ( { level = [\"ERROR\"]; to = [\"console\", \"errors\", \"security\"]; } );\n"
		"default = [];\n");
	cr_assert_eq(route_msg(TEXT_LEVEL_INFO, "x"), 0);
}

Test(router, route_without_filters_matches_every_record)
{
	open_ok("routes = ( { to = [\"errors\"]; }, { to = [\"console\", \"security\"]; } );\n");
	cr_assert_eq(route_msg(TEXT_LEVEL_DEBUG, "x"), ALL);
	cr_assert_eq(route_msg(0, NULL), ALL);
}

Test(router, writer_named_by_two_routes_is_one_bit)
{
	open_ok("routes = ( { to = [\"errors\", \"errors\"]; }, { level = [\"ERROR\"]; to = [\"errors\"]; } );\n"
		"default = [\"console\", \"security\"];\n");
	cr_assert_eq(route_msg(TEXT_LEVEL_ERROR, "x"), ERRORS);
}

Test(router, stop_ends_the_search_after_a_matching_route)
{
	open_ok("routes = ( { level = [\"ERROR\"]; to = [\"errors\"]; stop = true; },\n"
		"  { to = [\"console\"]; } );\n"
		"default = [\"security\"];\n");
	cr_assert_eq(route_msg(TEXT_LEVEL_ERROR, "x"), ERRORS);
	/* a route with stop that did not match stops nothing */
	cr_assert_eq(route_msg(TEXT_LEVEL_INFO, "x"), CONSOLE);
}

Test(router, stop_false_is_the_default_behaviour)
{
	open_ok("routes = ( { to = [\"errors\"]; stop = false; }, { to = [\"console\"]; } );\n"
		"default = [\"security\"];\n");
	cr_assert_eq(route_msg(TEXT_LEVEL_INFO, "x"), ERRORS | CONSOLE);
}

Test(router, later_stop_route_still_ends_after_earlier_matches)
{
	open_ok("routes = ( { to = [\"errors\"]; }, { to = [\"errors\"]; stop = true; },\n"
		"  { to = [\"console\"]; } );\n"
		"default = [\"security\"];\n");
	cr_assert_eq(route_msg(TEXT_LEVEL_INFO, "x"), ERRORS);
}

Test(router, config_may_be_destroyed_after_open)
{
	open_ok(seed_config);
	config_destroy(&cfg);
	config_init(&cfg);
	cr_assert_eq(route_msg(TEXT_LEVEL_INFO, "User logout"), SECURITY);
	cr_assert_eq(route_msg(TEXT_LEVEL_CRITICAL, "disk"), ERRORS | CONSOLE);
	char out[512];
	describe(out, sizeof out);
	cr_assert(strstr(out, "(login|logout|permission|access)"));
}

Test(router, close_accepts_null)
{
	router_close(NULL);
}

/* ---- levels ---- */

Test(router, level_list_matches_only_those_levels)
{
	open_ok("routes = ( { level = [\"warn\", \"Critical\"]; to = [\"errors\"]; } );\n");
	for (int l = TEXT_LEVEL_TRACE; l <= TEXT_LEVEL_OFF; l++) {
		uint32_t want = l == TEXT_LEVEL_WARN || l == TEXT_LEVEL_CRITICAL ? ERRORS : 0;
		cr_assert_eq(route_msg(l, "x"), want, "level %d", l);
	}
	cr_assert_eq(route_msg(0, "x"), 0);
	cr_assert_eq(route_msg(-1, "x"), 0);
	cr_assert_eq(route_msg(99, "x"), 0);
}

Test(router, level_list_may_be_a_libconfig_list)
{
	open_ok("routes = ( { level = (\"DEBUG\"); to = [\"errors\"]; } );\n");
	cr_assert_eq(route_msg(TEXT_LEVEL_DEBUG, "x"), ERRORS);
	cr_assert_eq(route_msg(TEXT_LEVEL_INFO, "x"), 0);
}

Test(router, min_level_matches_at_and_above)
{
	open_ok("routes = ( { min_level = \"WARN\"; to = [\"errors\"]; } );\n");
	cr_assert_eq(route_msg(TEXT_LEVEL_INFO, "x"), 0);
	cr_assert_eq(route_msg(TEXT_LEVEL_WARN, "x"), ERRORS);
	cr_assert_eq(route_msg(TEXT_LEVEL_CRITICAL, "x"), ERRORS);
}

Test(router, max_level_matches_at_and_below)
{
	open_ok("routes = ( { max_level = \"debug\"; to = [\"errors\"]; } );\n");
	cr_assert_eq(route_msg(TEXT_LEVEL_TRACE, "x"), ERRORS);
	cr_assert_eq(route_msg(TEXT_LEVEL_DEBUG, "x"), ERRORS);
	cr_assert_eq(route_msg(TEXT_LEVEL_INFO, "x"), 0);
}

Test(router, min_and_max_level_give_a_range)
{
	open_ok("routes = ( { min_level = \"INFO\"; max_level = \"ERROR\"; to = [\"errors\"]; } );\n");
	cr_assert_eq(route_msg(TEXT_LEVEL_DEBUG, "x"), 0);
	cr_assert_eq(route_msg(TEXT_LEVEL_INFO, "x"), ERRORS);
	cr_assert_eq(route_msg(TEXT_LEVEL_WARN, "x"), ERRORS);
	cr_assert_eq(route_msg(TEXT_LEVEL_ERROR, "x"), ERRORS);
	cr_assert_eq(route_msg(TEXT_LEVEL_CRITICAL, "x"), 0);
}

Test(router, min_equal_to_max_is_one_level)
{
	open_ok("routes = ( { min_level = \"WARN\"; max_level = \"WARN\"; to = [\"errors\"]; } );\n");
	cr_assert_eq(route_msg(TEXT_LEVEL_WARN, "x"), ERRORS);
	cr_assert_eq(route_msg(TEXT_LEVEL_ERROR, "x"), 0);
}

Test(router, level_list_and_min_level_must_both_match)
{
	open_ok("routes = ( { level = [\"DEBUG\", \"ERROR\"]; min_level = \"WARN\"; to = [\"errors\"]; } );\n");
	cr_assert_eq(route_msg(TEXT_LEVEL_DEBUG, "x"), 0);
	cr_assert_eq(route_msg(TEXT_LEVEL_WARN, "x"), 0);
	cr_assert_eq(route_msg(TEXT_LEVEL_ERROR, "x"), ERRORS);
}

/* ---- logger names ---- */

Test(router, name_list_matches_whole_logger_names)
{
	open_ok("routes = ( { name = [\"auth\", \"db\"]; to = [\"security\"]; } );\n");
	struct text_record r = rec(TEXT_LEVEL_INFO, "x");
	r.name = "authz";
	r.name_len = 4; /* only "auth" belongs to the record */
	cr_assert_eq(router_route(rt, &r), SECURITY);
	r.name_len = 5;
	cr_assert_eq(router_route(rt, &r), 0);
	r.name = "db";
	r.name_len = 2;
	cr_assert_eq(router_route(rt, &r), SECURITY);
	r.name = "d";
	r.name_len = 1;
	cr_assert_eq(router_route(rt, &r), 0);
	r.name = NULL;
	r.name_len = 0;
	cr_assert_eq(router_route(rt, &r), 0);
}

/* ---- structured fields ---- */

Test(router, has_field_requires_every_key)
{
	open_ok("routes = ( { has_field = [\"user_id\", \"request\"]; to = [\"security\"]; } );\n");
	struct text_field both[] = {fstr("request", "GET"), fi64("user_id", 1)};
	struct text_field one[] = {fi64("user_id", 1)};
	struct text_field prefix[] = {fi64("user_i", 1), fstr("request", NULL)};
	cr_assert_eq(route_fields(both, 2), SECURITY);
	cr_assert_eq(route_fields(one, 1), 0);
	cr_assert_eq(route_fields(prefix, 2), 0);
	cr_assert_eq(route_fields(NULL, 0), 0);
}

Test(router, integer_field_matches_i64_u64_and_f64)
{
	open_ok("routes = ( { fields = { user_id = 12345; }; to = [\"security\"]; } );\n");
	struct text_field i[] = {fi64("user_id", 12345)}, u[] = {fu64("user_id", 12345)};
	struct text_field d[] = {ff64("user_id", 12345.0)}, other[] = {fi64("user_id", 12346)};
	struct text_field s[] = {fstr("user_id", "12345")}, b[] = {fbool("user_id", true)};
	cr_assert_eq(route_fields(i, 1), SECURITY);
	cr_assert_eq(route_fields(u, 1), SECURITY);
	cr_assert_eq(route_fields(d, 1), SECURITY);
	cr_assert_eq(route_fields(other, 1), 0);
	cr_assert_eq(route_fields(s, 1), 0);
	cr_assert_eq(route_fields(b, 1), 0);
}

Test(router, negative_integer_never_equals_a_u64_field)
{
	open_ok("routes = ( { fields = { n = -1; }; to = [\"security\"]; } );\n");
	struct text_field u[] = {fu64("n", UINT64_MAX)}, i[] = {fi64("n", -1)};
	cr_assert_eq(route_fields(u, 1), 0);
	cr_assert_eq(route_fields(i, 1), SECURITY);
}

Test(router, int64_config_value_matches_a_large_field)
{
	open_ok("routes = ( { fields = { big = 9000000000000000000L; }; to = [\"security\"]; } );\n");
	struct text_field u[] = {fu64("big", 9000000000000000000ull)};
	struct text_field i[] = {fi64("big", 9000000000000000000ll)};
	struct text_field off[] = {fu64("big", 9000000000000000001ull)};
	cr_assert_eq(route_fields(u, 1), SECURITY);
	cr_assert_eq(route_fields(i, 1), SECURITY);
	cr_assert_eq(route_fields(off, 1), 0);
}

Test(router, float_field_matches_only_f64)
{
	open_ok("routes = ( { fields = { ratio = 0.5; }; to = [\"security\"]; } );\n");
	struct text_field d[] = {ff64("ratio", 0.5)}, other[] = {ff64("ratio", 0.25)};
	struct text_field i[] = {fi64("ratio", 0)};
	cr_assert_eq(route_fields(d, 1), SECURITY);
	cr_assert_eq(route_fields(other, 1), 0);
	cr_assert_eq(route_fields(i, 1), 0);
}

Test(router, bool_field_matches_only_bool)
{
	open_ok("routes = ( { fields = { admin = true; }; to = [\"security\"]; } );\n");
	struct text_field t[] = {fbool("admin", true)}, f[] = {fbool("admin", false)};
	struct text_field i[] = {fi64("admin", 1)};
	cr_assert_eq(route_fields(t, 1), SECURITY);
	cr_assert_eq(route_fields(f, 1), 0);
	cr_assert_eq(route_fields(i, 1), 0);
}

Test(router, string_field_matches_equal_bytes_and_never_null)
{
	open_ok("routes = ( { fields = { user = \"bob\"; empty = \"\"; }; to = [\"security\"]; } );\n");
	struct text_field ok[] = {fstr("user", "bob"), fstr("empty", "")};
	struct text_field longer[] = {fstr("user", "bobby"), fstr("empty", "")};
	struct text_field null_empty[] = {fstr("user", "bob"), fstr("empty", NULL)};
	cr_assert_eq(route_fields(ok, 2), SECURITY);
	cr_assert_eq(route_fields(longer, 2), 0);
	cr_assert_eq(route_fields(null_empty, 2), 0);
}

Test(router, every_field_must_be_present_and_equal)
{
	open_ok("routes = ( { fields = { user_id = 12345; admin = true; }; to = [\"security\"]; } );\n");
	struct text_field both[] = {fbool("admin", true), fi64("user_id", 12345)};
	struct text_field one[] = {fi64("user_id", 12345)};
	struct text_field wrong[] = {fi64("user_id", 12345), fbool("admin", false)};
	cr_assert_eq(route_fields(both, 2), SECURITY);
	cr_assert_eq(route_fields(one, 1), 0);
	cr_assert_eq(route_fields(wrong, 2), 0);
}

Test(router, first_field_with_a_key_decides)
{
	open_ok("routes = ( { fields = { n = 1; }; to = [\"security\"]; } );\n");
	struct text_field first_wrong[] = {fi64("n", 2), fi64("n", 1)};
	struct text_field first_right[] = {fi64("n", 1), fi64("n", 2)};
	cr_assert_eq(route_fields(first_wrong, 2), 0);
	cr_assert_eq(route_fields(first_right, 2), SECURITY);
}

/* ---- message regex ---- */

Test(router, message_regex_searches_the_message)
{
	open_ok("routes = ( { message = \"^disk [0-9]+% full$\"; to = [\"errors\"]; } );\n");
	cr_assert_eq(route_msg(TEXT_LEVEL_INFO, "disk 93% full"), ERRORS);
	cr_assert_eq(route_msg(TEXT_LEVEL_INFO, "disk full"), 0);
	cr_assert_eq(route_msg(TEXT_LEVEL_INFO, ""), 0);
	cr_assert_eq(route_msg(TEXT_LEVEL_INFO, NULL), 0);
}

Test(router, regex_uses_msg_len_not_a_nul)
{
	open_ok("routes = ( { message = \"login$\"; to = [\"security\"]; } );\n");
	struct text_record r = rec(TEXT_LEVEL_INFO, "loginXYZ");
	r.msg_len = 5;
	cr_assert_eq(router_route(rt, &r), SECURITY);
	r.msg_len = 4;
	cr_assert_eq(router_route(rt, &r), 0);
}

Test(router, regex_sees_past_an_embedded_nul)
{
	open_ok("routes = ( { message = \"a\\\\x00b.login\"; to = [\"security\"]; } );\n");
	static const char msg[] = "a\0b\0login";
	struct text_record r = rec(TEXT_LEVEL_INFO, msg);
	r.msg_len = sizeof msg - 1;
	cr_assert_eq(router_route(rt, &r), SECURITY);
}

Test(router, regex_treats_a_newline_as_perl_does)
{
	open_ok("routes = ( { message = \"^logout\"; to = [\"security\"]; },\n"
		"  { message = \"first.second\"; to = [\"errors\"]; } );\n");
	/* ^ is the start of the message only, and . does not match a newline */
	cr_assert_eq(route_msg(TEXT_LEVEL_INFO, "user\nlogout"), 0);
	cr_assert_eq(route_msg(TEXT_LEVEL_INFO, "logout\nuser"), SECURITY);
	cr_assert_eq(route_msg(TEXT_LEVEL_INFO, "first\nsecond"), 0);
	cr_assert_eq(route_msg(TEXT_LEVEL_INFO, "first second"), ERRORS);
}

Test(router, inline_options_change_the_regex)
{
	open_ok("routes = ( { message = \"(?i)LOGIN\"; to = [\"security\"]; },\n"
		"  { message = \"(?m)^b$\"; to = [\"errors\"]; } );\n");
	cr_assert_eq(route_msg(TEXT_LEVEL_INFO, "user login"), SECURITY);
	cr_assert_eq(route_msg(TEXT_LEVEL_INFO, "a\nb\nc"), ERRORS);
}

/* The match data holds one pair (whether it matched): groups still work inside the pattern. */
Test(router, groups_and_back_references_match_with_the_one_pair_match_data)
{
	open_ok("routes = ( { message = \"\\\\b(\\\\w+) \\\\1\\\\b\"; to = [\"security\"]; },\n"
		"  { message = \"(?<user>[a-z]+) (denied|refused)$\"; to = [\"errors\"]; } );\n");
	cr_assert_eq(route_msg(TEXT_LEVEL_INFO, "said the the word"), SECURITY);
	cr_assert_eq(route_msg(TEXT_LEVEL_INFO, "said the word"), 0);
	cr_assert_eq(route_msg(TEXT_LEVEL_INFO, "access for bob denied"), ERRORS);
	cr_assert_eq(route_msg(TEXT_LEVEL_INFO, "the the bob refused"), SECURITY | ERRORS);
}

Test(router, runaway_regex_counts_as_no_match)
{
	open_ok("routes = ( { message = \"^(a|aa)+$\"; to = [\"security\"]; } );\n");
	char msg[200];
	memset(msg, 'a', sizeof msg - 2);
	msg[sizeof msg - 2] = 'b';
	msg[sizeof msg - 1] = '\0';
	cr_assert_eq(route_msg(TEXT_LEVEL_INFO, msg), 0);
	cr_assert_eq(route_msg(TEXT_LEVEL_INFO, "aaaa"), SECURITY);
}

/* ---- filters combined ---- */

Test(router, every_filter_of_a_route_must_match)
{
	open_ok("routes = ( { level = [\"ERROR\"]; name = [\"auth\"]; has_field = [\"ip\"];\n"
		"  fields = { admin = true; }; message = \"denied\"; to = [\"security\"]; } );\n"
		"default = [\"console\"];\n");
	struct text_field f[] = {fstr("ip", "10.0.0.1"), fbool("admin", true)};
	struct text_record r = rec(TEXT_LEVEL_ERROR, "access denied");
	r.name = "auth";
	r.name_len = 4;
	r.fields = f;
	r.n_fields = 2;
	cr_assert_eq(router_route(rt, &r), SECURITY);

	struct text_record miss = r;
	miss.level = TEXT_LEVEL_WARN;
	cr_assert_eq(router_route(rt, &miss), CONSOLE);
	miss = r;
	miss.name = "db";
	miss.name_len = 2;
	cr_assert_eq(router_route(rt, &miss), CONSOLE);
	miss = r;
	miss.n_fields = 1; /* ip only: admin is missing */
	cr_assert_eq(router_route(rt, &miss), CONSOLE);
	miss = r;
	miss.fields = f + 1; /* admin only: ip is missing */
	miss.n_fields = 1;
	cr_assert_eq(router_route(rt, &miss), CONSOLE);
	miss = r;
	miss.msg = "access granted";
	miss.msg_len = strlen(miss.msg);
	cr_assert_eq(router_route(rt, &miss), CONSOLE);
}

/* ---- config errors ---- */

Test(router, refuses_an_unknown_writer_in_to)
{
	expect_error("routes = (\n  { to = [\"console\",\n  \"audit\"]; }\n);\n",
		     "config:3: routes.[0].to.[1]: unknown writer \"audit\" (known: console, errors, security)");
}

Test(router, refuses_an_unknown_writer_in_default)
{
	expect_error("default = [\"consol\"];\n",
		     "config:1: default.[0]: unknown writer \"consol\" (known: console, errors, security)");
}

Test(router, refuses_an_unknown_route_key)
{
	expect_error("routes = (\n  { to = [\"console\"];\n    levels = [\"ERROR\"]; }\n);\n",
		     "config:3: routes.[0].levels: unknown key for a route (known: level, min_level, "
		     "max_level, name, has_field, fields, message, to, stop)");
}

Test(router, refuses_a_bad_regex_with_pcre2s_message_and_offset)
{
	expect_error("routes = (\n  { to = [\"console\"]; },\n  { message = \"(login|logout\"; to = [\"security\"]; }\n);\n",
		     "config:3: routes.[1].message: bad regex at offset 13: missing closing parenthesis");
}

Test(router, refuses_a_level_that_is_not_a_list_of_strings)
{
	expect_error("routes = ( { level = \"ERROR\"; to = [\"console\"]; } );\n",
		     "config:1: routes.[0].level: expected a list of levels [\"...\", ...]");
	config_destroy(&cfg);
	config_init(&cfg);
	expect_error("routes = ( { level = [5]; to = [\"console\"]; } );\n",
		     "config:1: routes.[0].level: expected a list of levels [\"...\", ...]");
}

Test(router, refuses_an_unknown_level_name)
{
	expect_error("routes = ( { level = [\"ERROR\", \"FATAL\"]; to = [\"console\"]; } );\n",
		     "config:1: routes.[0].level.[1]: unknown level \"FATAL\" (known: TRACE, DEBUG, INFO, "
		     "WARN, ERROR, CRITICAL)");
}

Test(router, refuses_off_as_a_level)
{
	expect_error("routes = ( { min_level = \"off\"; to = [\"console\"]; } );\n",
		     "config:1: routes.[0].min_level: no record has the level \"off\" (known: TRACE, DEBUG, "
		     "INFO, WARN, ERROR, CRITICAL)");
}

Test(router, refuses_a_min_level_that_is_not_a_string)
{
	expect_error("routes = ( { max_level = 3; to = [\"console\"]; } );\n",
		     "config:1: routes.[0].max_level: expected a level name (\"TRACE\" .. \"CRITICAL\")");
}

Test(router, refuses_min_level_above_max_level)
{
	expect_error("routes = (\n  { min_level = \"ERROR\"; max_level = \"INFO\"; to = [\"console\"]; }\n);\n",
		     "config:2: routes.[0].min_level: ERROR is above max_level INFO");
}

Test(router, refuses_a_stop_that_is_not_a_bool)
{
	expect_error("routes = ( { to = [\"console\"]; stop = 1; } );\n",
		     "config:1: routes.[0].stop: expected true or false");
}

Test(router, refuses_a_to_that_is_not_a_list)
{
	expect_error("routes = ( { to = \"console\"; } );\n",
		     "config:1: routes.[0].to: expected a list of writer names [\"...\", ...]");
}

Test(router, refuses_an_empty_to)
{
	expect_error("routes = ( { to = []; } );\n",
		     "config:1: routes.[0].to: empty list (name at least one)");
}

Test(router, refuses_a_route_without_to)
{
	expect_error("routes = (\n  { level = [\"ERROR\"]; }\n);\n",
		     "config:2: routes.[0].to: missing required key (the writers this route sends to)");
}

Test(router, refuses_routes_that_are_not_a_list_of_groups)
{
	expect_error("routes = { to = [\"console\"]; };\n",
		     "config:1: routes: expected a list of routes ( { ... }, ... )");
	config_destroy(&cfg);
	config_init(&cfg);
	expect_error("routes = [\"console\"];\n",
		     "config:1: routes: expected a list of routes ( { ... }, ... )");
	config_destroy(&cfg);
	config_init(&cfg);
	expect_error("routes = ( { to = [\"console\"]; },\n  \"errors\" );\n",
		     "config:2: routes.[1]: expected a group { to = [...]; ... }");
}

Test(router, refuses_a_default_that_is_not_a_list)
{
	expect_error("default = \"console\";\n",
		     "config:1: default: expected a list of writer names [\"...\", ...]");
}

Test(router, refuses_bad_name_and_has_field_lists)
{
	expect_error("routes = ( { name = \"auth\"; to = [\"console\"]; } );\n",
		     "config:1: routes.[0].name: expected a list of logger names [\"...\", ...]");
	config_destroy(&cfg);
	config_init(&cfg);
	expect_error("routes = ( { has_field = []; to = [\"console\"]; } );\n",
		     "config:1: routes.[0].has_field: empty list (name at least one)");
}

Test(router, refuses_bad_fields)
{
	expect_error("routes = ( { fields = [\"user\"]; to = [\"console\"]; } );\n",
		     "config:1: routes.[0].fields: expected a group { key = value; ... }");
	config_destroy(&cfg);
	config_init(&cfg);
	expect_error("routes = ( { fields = {\n  user = [1, 2]; }; to = [\"console\"]; } );\n",
		     "config:2: routes.[0].fields.user: expected an integer, a float, true/false or a string");
	config_destroy(&cfg);
	config_init(&cfg);
	expect_error("routes = ( { fields = { }; to = [\"console\"]; } );\n",
		     "config:1: routes.[0].fields: empty group (name at least one field)");
}

Test(router, refuses_a_message_that_is_not_a_string)
{
	expect_error("routes = ( { message = [\"login\"]; to = [\"console\"]; } );\n",
		     "config:1: routes.[0].message: expected a regular expression string");
}

Test(router, refuses_more_writers_than_mask_bits)
{
	const char *many[ROUTER_MAX_WRITERS + 1];
	for (unsigned i = 0; i <= ROUTER_MAX_WRITERS; i++)
		many[i] = "w";
	struct diag d;
	int r = router_open(&rt, NULL, NULL, many, NULL, ROUTER_MAX_WRITERS + 1, &d, NULL, NULL);
	cr_assert_eq(r, -EINVAL);
	cr_assert_str_eq(d.msg, "router: 33 writers, at most 32 can be routed");
	cr_assert_null(rt);
}

Test(router, thirty_two_writers_without_routes_all_get_every_record)
{
	const char *many[ROUTER_MAX_WRITERS];
	for (unsigned i = 0; i < ROUTER_MAX_WRITERS; i++)
		many[i] = "w";
	struct diag d;
	cr_assert_eq(router_open(&rt, NULL, NULL, many, NULL, ROUTER_MAX_WRITERS, &d, NULL, NULL), 0);
	cr_assert_eq(route_msg(TEXT_LEVEL_INFO, "x"), UINT32_MAX);
}

/* ---- the unreachable-writer warning ---- */

Test(router, warns_once_per_writer_nothing_can_reach)
{
	static const char text[] =
		"writers = (\n"
		"  { type = \"console\"; },\n"
		"  { type = \"file\"; name = \"errors\"; },\n"
		"  { type = \"file\"; name = \"security\"; }\n"
		");\n"
		"routes = ( { level = [\"ERROR\"]; to = [\"errors\"]; } );\n";
	cr_assert(config_read_string(&cfg, text));
	const config_setting_t *writers = config_lookup(&cfg, "writers");
	const config_setting_t *settings[N_NAMES];
	for (unsigned i = 0; i < N_NAMES; i++)
		settings[i] = config_setting_get_elem(writers, i);
	struct diag d;
	int r = router_open(&rt, config_lookup(&cfg, "routes"), NULL, names, settings, N_NAMES, &d,
			    collect_warning, warnings);
	cr_assert_eq(r, 0, "%s", d.msg);
	cr_assert_str_eq(warnings,
			 "config:2: writers.[0]: writer \"console\" is not reachable: no route and no default names it\n"
			 "config:4: writers.[2]: writer \"security\" is not reachable: no route and no default names it\n");
}

Test(router, warning_names_the_routes_without_writer_settings)
{
	open_ok("\nroutes = ( { to = [\"errors\", \"security\"]; } );\n");
	cr_assert_str_eq(warnings,
			 "config:2: routes: writer \"console\" is not reachable: no route and no default names it\n");
}

Test(router, default_alone_warns_about_the_writers_it_leaves_out)
{
	open_ok("default = [\"console\", \"security\"];\n");
	cr_assert_str_eq(warnings,
			 "config:1: default: writer \"errors\" is not reachable: no route and no default names it\n");
}

Test(router, a_default_makes_its_writers_reachable)
{
	open_ok("routes = ( { to = [\"errors\"]; } );\ndefault = [\"console\", \"security\"];\n");
	cr_assert_str_eq(warnings, "");
}

/* ---- describe ---- */

Test(router, describes_the_seed_example)
{
	open_ok(seed_config);
	char out[1024];
	describe(out, sizeof out);
	cr_assert_str_eq(out,
			 "route 1: level in [ERROR, CRITICAL] -> errors, console\n"
			 "route 2: message =~ /(login|logout|permission|access)/ -> security (stop)\n"
			 "default -> console\n");
}

Test(router, describes_every_filter)
{
	open_ok("routes = (\n"
		"  { min_level = \"info\"; max_level = \"error\"; name = [\"auth\", \"db\"]; has_field = [\"ip\"];\n"
		"    fields = { user_id = 12345; admin = true; ratio = 0.5; user = \"bob\"; }; to = [\"security\"]; },\n"
		"  { min_level = \"WARN\"; to = [\"errors\"]; },\n"
		"  { max_level = \"DEBUG\"; level = [\"TRACE\"]; to = [\"errors\"]; },\n"
		"  { to = [\"console\"]; stop = true; }\n"
		");\n");
	char out[2048];
	describe(out, sizeof out);
	cr_assert_str_eq(out,
			 "route 1: level in INFO..ERROR and name in [auth, db] and has_field [ip] and field "
			 "user_id = 12345 and field admin = true and field ratio = 0.5 and field user = \"bob\" "
			 "-> security\n"
			 "route 2: level >= WARN -> errors\n"
			 "route 3: level in [TRACE] and level <= DEBUG -> errors\n"
			 "route 4: every record -> console (stop)\n"
			 "default -> nowhere (a record no route matches is dropped)\n");
}

Test(router, describes_the_absence_of_routes)
{
	open_ok("");
	char out[512];
	describe(out, sizeof out);
	cr_assert_str_eq(out, "no routes: every record goes to the default\n"
			      "default -> every writer (console, errors, security)\n");
}
