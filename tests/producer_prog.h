/* producer_prog.h — the record the test producer logs, shared with the tests that check it. */
#ifndef SHMLOG_PRODUCER_PROG_H
#define SHMLOG_PRODUCER_PROG_H

static const char *const expect_strs[] = {"alpha", "", "tab\there"};

#define EXPECT_FMT "rec t=%d i=%ld s=%s d=%.3f x=%#x pad=%-6s|"
#define EXPECT_ARGS(t, i) (t), (long)(i), expect_strs[(i) % 3], (double)(i) * 0.5, (unsigned)(i), "ab"

#endif
