/*
 * compress.h — compressing rotated files with zstd, off the drain loop.
 *
 * One worker thread per compressing writer takes rotated file names from a
 * queue and turns each file X into X.zst:
 *
 *   1. compress X into X.zst.tmp      (a crash here: X and a partial tmp)
 *   2. fsync X.zst.tmp                (a crash here: X and a tmp)
 *   3. rename X.zst.tmp to X.zst, fsync the directory   (X and a complete X.zst)
 *   4. remove X                       (X.zst)
 *
 * so at any point either X or a complete X.zst exists. A job that fails (a
 * full disk) is reported once and tried again every second. On open, a writer
 * removes leftover tmp files, removes X where X.zst exists, and queues every
 * other uncompressed rotated file (compress_recover in rotate_files.c).
 *
 * The drain loop renames rotated files (the shift of rotate_files.c) while a
 * job runs: it does so holding the compressor's lock and tells it each rename
 * (compressor_renamed), and the worker takes the lock for steps 3 and 4, so
 * they always act on the file's current name.
 */
#ifndef SHMLOG_COMPRESS_H
#define SHMLOG_COMPRESS_H

#include <pthread.h>
#include <stdbool.h>

#define COMPRESS_LEVEL_DEFAULT 3

struct compress_job;

struct compressor {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	bool started, stop;
	int level;
	const char *who;              /* the writer's name, for messages */
	struct compress_job *queue;   /* waiting, oldest first */
	struct compress_job *current; /* the job running, or NULL */
	int last_err;                 /* the failure last reported */
};

/* Start the worker. who must outlive c. Returns 0 or -errno. */
int compressor_start(struct compressor *c, int level, const char *who);

/* Queue the rotated file path (copied). Returns 0 or -ENOMEM (it is then compressed at the next open). */
int compressor_queue(struct compressor *c, const char *path);

/* Hold off the worker's renames while rotated files are renamed (and tell it each one). */
void compressor_lock(struct compressor *c);
void compressor_unlock(struct compressor *c);

/* With the lock held: the file from was renamed to to. */
void compressor_renamed(struct compressor *c, const char *from, const char *to);

/* Stop the worker after the job it runs (the queue is left: a later open redoes it). */
void compressor_stop(struct compressor *c);

/*
 * The steps above for path, without the lock; after step stop_after (1..3)
 * return without going on, as a crash there would (0: every step). Returns 0
 * or -errno (the tmp file is removed then; path is left as it was).
 * Exposed for the tests of each step.
 */
int compress_file(const char *path, int level, int stop_after);

#endif
