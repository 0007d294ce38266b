/*
 * demo.cpp — the C++ example producer: shmlog.h from C++17, with
 * std::string and std::string_view arguments and fields, then a flush so
 * the collector has taken everything before the program ends.
 *
 *   shmlog-demo-cxx [ORDERS]
 */
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <shmlog.h>

int main(int argc, char **argv)
{
	const int orders = argc > 1 ? std::atoi(argv[1]) : 3;
	struct shmlog_options o = {};
	o.name = "demo-cxx";
	struct shmlog *lg;
	int rc = shmlog_open(&lg, &o);
	if (rc < 0) {
		std::fprintf(stderr, "shmlog-demo-cxx: shmlog_open failed: error %d\n", -rc);
		return 1;
	}
	const std::string venue = "XNAS";
	for (int i = 0; i < orders; i++) {
		std::string_view symbol = i % 2 ? "MSFT" : "AAPL";
		SHMLOG_INFO(lg, "order %d: %s filled at %.2f", i, symbol, 100.0 + i / 4.0);
		SHMLOG_INFO_KV(lg, ("order", i, "venue", venue, "symbol", symbol), "order %d acknowledged", i);
	}
	SHMLOG_DEBUG(lg, "below the default threshold: not logged");
	if (shmlog_flush(lg, 5000) < 0)
		std::fprintf(stderr, "shmlog-demo-cxx: no collector took the records within 5 s\n");
	shmlog_close(lg);
	return 0;
}
