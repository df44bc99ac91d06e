/* The CPU kernels' thread team: the caller and (threads - 1) workers share a call's range in small
   chunks, claimed one at a time. Built to degrade gracefully on a machine where other processes
   hold cores:

   - no static split: a worker that the scheduler has not run yet claims nothing, and the others
     take its share;
   - the caller waits for the claimed chunks to be done, never for every worker to show up: a
     descheduled worker costs at most the chunk it holds;
   - waiting is passive: after a short spin, workers and caller sleep on a futex, leaving the core
     to whoever else needs it.

   One call runs on the team at a time; a call that finds it busy (another Python thread's kernel)
   runs on its own thread. After fork() the child starts without a team (its threads are not
   copied) and builds one at its first parallel call. */

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef void (*pz_range_fn)(const void *args, int64_t begin, int64_t end);

#define PZ_MAX_THREADS 256
#define PZ_SPIN 2000                    /* polls before sleeping: tens of microseconds */

static pthread_mutex_t pz_team_lock = PTHREAD_MUTEX_INITIALIZER;
static int pz_threads_wanted = 0;        /* 0: not decided yet */
static int pz_workers = 0;               /* started (the team is the caller and these) */

/* the current job: written by the caller while the team is between jobs, read by workers only
   through a successful claim (see pz_claim) */
static _Atomic(pz_range_fn) pz_fn;
static _Atomic(const void *) pz_args;
static _Atomic int64_t pz_count, pz_chunk;
static _Atomic uint32_t pz_chunks;

static _Atomic uint64_t pz_ticket;       /* job number << 32 | next chunk to claim */
static _Atomic uint32_t pz_job;          /* job number; the futex idle workers sleep on */
static _Atomic uint32_t pz_done;         /* chunks of the current job finished; the caller's futex */
static _Atomic int pz_caller_asleep, pz_workers_asleep;
static _Atomic int pz_helpers;           /* workers that join the current job: the team size - 1 */

static void pz_futex_wait(_Atomic uint32_t *word, uint32_t value)
{
	syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, value, NULL, NULL, 0);
}

static void pz_futex_wake(_Atomic uint32_t *word, int count)
{
	syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, count, NULL, NULL, 0);
}

static inline void pz_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* Claims and runs chunks of job `job` until none is left. A claim is a
   compare-exchange of the whole ticket, so a worker that woke late and read a later job's
   fields, or a finished job's, never claims: its exchange fails. */
static void pz_work(uint32_t job)
{
	for (;;) {
		uint64_t ticket = atomic_load_explicit(&pz_ticket, memory_order_acquire);
		if ((uint32_t)(ticket >> 32) != job)
			return;

		const uint32_t index = (uint32_t)ticket;
		const pz_range_fn fn = atomic_load_explicit(&pz_fn, memory_order_relaxed);
		const void *args = atomic_load_explicit(&pz_args, memory_order_relaxed);
		const int64_t count = atomic_load_explicit(&pz_count, memory_order_relaxed);
		const int64_t chunk = atomic_load_explicit(&pz_chunk, memory_order_relaxed);
		const uint32_t chunks = atomic_load_explicit(&pz_chunks, memory_order_relaxed);

		if (index >= chunks)
			return;
		if (!atomic_compare_exchange_weak_explicit(&pz_ticket, &ticket, ticket + 1, memory_order_acq_rel, memory_order_relaxed))
			continue;

		const int64_t begin = (int64_t)index * chunk;
		fn(args, begin, begin + chunk < count ? begin + chunk : count);

		if (atomic_fetch_add(&pz_done, 1) + 1 == chunks && atomic_load(&pz_caller_asleep))
			pz_futex_wake(&pz_done, 1);
	}
}

static void *pz_worker(void *arg)
{
	const int index = (int)(intptr_t)arg;
	uint32_t seen = atomic_load(&pz_job);

	for (;;) {
		uint32_t job;
		for (int spin = 0; (job = atomic_load_explicit(&pz_job, memory_order_acquire)) == seen; spin++) {
			if (spin < PZ_SPIN) {
				pz_pause();
				continue;
			}
			atomic_fetch_add(&pz_workers_asleep, 1);
			pz_futex_wait(&pz_job, seen);
			atomic_fetch_sub(&pz_workers_asleep, 1);
		}

		seen = job;
		if (index < atomic_load(&pz_helpers))     /* a smaller team asked for: stay out */
			pz_work(job);
	}
	return NULL;
}

/* OMP_NUM_THREADS when set (as scripts already use it to size thread teams), else the CPUs this
   process may run on. */
static int pz_default_threads(void)
{
	const char *env = getenv("OMP_NUM_THREADS");
	if (env != NULL) {
		char *end;
		const long value = strtol(env, &end, 10);
		if (end != env && value >= 1)
			return value < PZ_MAX_THREADS ? (int)value : PZ_MAX_THREADS;
	}

	cpu_set_t cpus;
	if (sched_getaffinity(0, sizeof cpus, &cpus) == 0 && CPU_COUNT(&cpus) >= 1)
		return CPU_COUNT(&cpus) < PZ_MAX_THREADS ? CPU_COUNT(&cpus) : PZ_MAX_THREADS;

	const long online = sysconf(_SC_NPROCESSORS_ONLN);
	return online >= 1 ? (online < PZ_MAX_THREADS ? (int)online : PZ_MAX_THREADS) : 1;
}

/* called with the team lock held: start workers up to the wanted team size */
static void pz_grow(void)
{
	if (pz_threads_wanted == 0)
		pz_threads_wanted = pz_default_threads();

	while (pz_workers < pz_threads_wanted - 1) {
		pthread_t thread;
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		pthread_attr_setstacksize(&attr, 256 << 10);
		const int failed = pthread_create(&thread, &attr, pz_worker, (void *)(intptr_t)pz_workers);
		pthread_attr_destroy(&attr);
		if (failed)
			break;                          /* a smaller team still computes everything */
		pz_workers++;
	}
}

/* The team size parallel calls use (the caller included), 1..PZ_MAX_THREADS; 0 asks for the
   default. Returns the size in effect. Fewer threads than started just leaves some idle. */
int pz_set_threads(int threads)
{
	pthread_mutex_lock(&pz_team_lock);
	pz_threads_wanted = threads <= 0 ? pz_default_threads() : (threads < PZ_MAX_THREADS ? threads : PZ_MAX_THREADS);
	const int result = pz_threads_wanted;
	pthread_mutex_unlock(&pz_team_lock);
	return result;
}

int pz_get_threads(void)
{
	pthread_mutex_lock(&pz_team_lock);
	if (pz_threads_wanted == 0)
		pz_threads_wanted = pz_default_threads();
	const int result = pz_threads_wanted;
	pthread_mutex_unlock(&pz_team_lock);
	return result;
}

/* Runs fn(args, begin, end) over [0, count) on the team, in chunks of about `chunk` units, each a
   multiple of `granule` (a chunk is what one thread runs at a time: small enough that losing a
   thread costs little, large enough that claiming is noise). Serial when the team is one thread
   or busy. */
static void pz_parallel_units(pz_range_fn fn, const void *args, int64_t count, int64_t chunk, int64_t granule)
{
	if (pthread_mutex_trylock(&pz_team_lock) != 0) {
		fn(args, 0, count);
		return;
	}

	pz_grow();
	const int threads = pz_workers + 1 < pz_threads_wanted ? pz_workers + 1 : pz_threads_wanted;

	/* at least two chunks a thread, so a late thread's share is spread over the others */
	const int64_t fair = count / (2 * (int64_t)threads);
	if (chunk > fair)
		chunk = fair;
	chunk = chunk < granule ? granule : (chunk + granule - 1) / granule * granule;
	if (chunk < (count >> 31) + 1)
		chunk = (count >> 31) + 1;           /* the chunk count fits 32 bits */

	if (threads < 2 || chunk >= count) {
		pthread_mutex_unlock(&pz_team_lock);
		fn(args, 0, count);
		return;
	}

	const uint32_t chunks = (uint32_t)((count + chunk - 1) / chunk);
	const uint32_t job = atomic_load_explicit(&pz_job, memory_order_relaxed) + 1;

	atomic_store_explicit(&pz_fn, fn, memory_order_relaxed);
	atomic_store_explicit(&pz_args, args, memory_order_relaxed);
	atomic_store_explicit(&pz_count, count, memory_order_relaxed);
	atomic_store_explicit(&pz_chunk, chunk, memory_order_relaxed);
	atomic_store_explicit(&pz_chunks, chunks, memory_order_relaxed);
	atomic_store_explicit(&pz_done, 0, memory_order_relaxed);
	atomic_store_explicit(&pz_helpers, threads - 1, memory_order_relaxed);
	atomic_store_explicit(&pz_ticket, (uint64_t)job << 32, memory_order_release);
	atomic_store(&pz_job, job);

	if (atomic_load(&pz_workers_asleep) > 0)
		pz_futex_wake(&pz_job, INT_MAX);

	pz_work(job);

	for (int spin = 0;; spin++) {
		const uint32_t done = atomic_load(&pz_done);
		if (done == chunks)
			break;
		if (spin < PZ_SPIN) {
			pz_pause();
			continue;
		}
		atomic_store(&pz_caller_asleep, 1);
		if (atomic_load(&pz_done) != chunks)
			pz_futex_wait(&pz_done, done);
		atomic_store(&pz_caller_asleep, 0);
	}

	pthread_mutex_unlock(&pz_team_lock);
}

/* elements: chunks start 64 elements apart, so every chunk's vectors are aligned */
static void pz_parallel(pz_range_fn fn, const void *args, int64_t count, int64_t chunk)
{
	pz_parallel_units(fn, args, count, chunk, 64);
}

/* fork(): the child has this memory but none of the workers. The parent holds the lock across the
   fork, so no job is half-published in the child, which then starts from an empty team. */
static void pz_before_fork(void) { pthread_mutex_lock(&pz_team_lock); }
static void pz_after_fork_parent(void) { pthread_mutex_unlock(&pz_team_lock); }

static void pz_after_fork_child(void)
{
	pthread_mutex_init(&pz_team_lock, NULL);
	pz_workers = 0;
	atomic_store(&pz_workers_asleep, 0);
	atomic_store(&pz_caller_asleep, 0);
}

__attribute__((constructor)) static void pz_register_fork_handlers(void)
{
	pthread_atfork(pz_before_fork, pz_after_fork_parent, pz_after_fork_child);
}
