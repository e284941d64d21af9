/* C host test of the membudget C ABI: every function, its error paths, threads, and the
 * request/recycle and reserve/release round trips per second (--perf). C has no host library:
 * this tests the raw ABI. Built twice by hosts/run.sh (dynamic and static linking) and run under
 * valgrind. Prints "N passed, N failed". */
#define _POSIX_C_SOURCE 200809L
#include <sched.h>
#include "membudget.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int passed, failed;

#define CHECK(cond)                                                                         \
  do {                                                                                      \
    if (cond) {                                                                             \
      passed++;                                                                             \
    } else {                                                                                \
      failed++;                                                                             \
      fprintf(stderr, "FAIL %s:%d: %s (last error: %s)\n", __FILE__, __LINE__, #cond,      \
              last_error());                                                                \
    }                                                                                       \
  } while (0)

#define CHECK_RC(call, expected) CHECK((call) == (expected))

static const char *last_error(void) {
  static char buf[1024];
  size_t needed = 0;
  int32_t rc = mb_last_error_message(buf, sizeof buf, &needed);
  if (rc != MB_OK && rc != MB_ERR_BUFFER_TOO_SMALL) return "(mb_last_error_message failed)";
  return buf;
}

static mb_runtime *new_runtime(const char *extra) {
  const char *props[2] = {"taskmanager.memory.process.size=1g", extra};
  mb_runtime_options opts;
  memset(&opts, 0, sizeof opts);
  opts.struct_size = sizeof opts;
  opts.role = MB_ROLE_TASKMANAGER;
  opts.properties = props;
  opts.properties_len = extra ? 2 : 1;
  opts.ignore_container = 1;
  mb_runtime *rt = NULL;
  int32_t rc = mb_runtime_new(&opts, &rt);
  return rc == MB_OK ? rt : NULL;
}

static mb_category_usage usage_of(const mb_runtime *rt, uint32_t category) {
  mb_category_usage u;
  memset(&u, 0, sizeof u);
  u.struct_size = sizeof u;
  if (mb_usage(rt, category, &u) != MB_OK) u.used = UINT64_MAX;
  return u;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_version_and_errors(void) {
  CHECK(mb_abi_version() == MB_ABI_VERSION);
  CHECK(mb_abi_version() > 0);
  size_t needed = 0;
  CHECK_RC(mb_runtime_new(NULL, NULL), MB_ERR_NULL_POINTER);
  CHECK(strcmp(last_error(), "mb_runtime_new: argument 'out' is NULL") == 0);
  CHECK_RC(mb_last_error_message(NULL, 0, &needed), MB_ERR_BUFFER_TOO_SMALL);
  CHECK(needed == strlen("mb_runtime_new: argument 'out' is NULL") + 1);
  char tiny[5];
  CHECK_RC(mb_last_error_message(tiny, sizeof tiny, &needed), MB_ERR_BUFFER_TOO_SMALL);
  CHECK(strcmp(tiny, "mb_r") == 0);
  CHECK_RC(mb_last_error_message(NULL, 10, NULL), MB_ERR_NULL_POINTER);
  /* The message survives the failed query above. */
  CHECK(strcmp(last_error(), "mb_runtime_new: argument 'out' is NULL") == 0);
}

static void test_runtime(void) {
  mb_runtime *rt = NULL;
  mb_runtime_options opts;
  memset(&opts, 0, sizeof opts);
  opts.struct_size = sizeof opts;
  opts.role = 7;
  CHECK_RC(mb_runtime_new(&opts, &rt), MB_ERR_INVALID_ARGUMENT);
  opts.role = MB_ROLE_TASKMANAGER;
  opts.struct_size = 2;
  CHECK_RC(mb_runtime_new(&opts, &rt), MB_ERR_INVALID_ARGUMENT);
  opts.struct_size = sizeof opts;
  opts.properties_len = 1; /* properties NULL */
  CHECK_RC(mb_runtime_new(&opts, &rt), MB_ERR_NULL_POINTER);
  const char *bad[1] = {"no-equals-sign"};
  opts.properties = bad;
  CHECK_RC(mb_runtime_new(&opts, &rt), MB_ERR_INVALID_ARGUMENT);
  CHECK(strstr(last_error(), "expected 'key=value'") != NULL);
  opts.flags = 0x80;
  opts.properties_len = 0;
  CHECK_RC(mb_runtime_new(&opts, &rt), MB_ERR_INVALID_ARGUMENT);

  CHECK(new_runtime("taskmanager.memory.process.size=64m") == NULL);
  CHECK(strncmp(last_error(), "TaskManager memory configuration failed", 39) == 0);
  CHECK(new_runtime("taskmanager.memory.managed.fraction=2.5") == NULL);

  rt = new_runtime(NULL);
  CHECK(rt != NULL);
  size_t needed = 0;
  CHECK_RC(mb_plan_json(rt, NULL, 0, &needed), MB_ERR_BUFFER_TOO_SMALL);
  CHECK(needed > 100);
  char *json = malloc(needed);
  CHECK_RC(mb_plan_json(rt, json, needed, &needed), MB_OK);
  CHECK(strstr(json, "\"total_process_memory\": 1073741824") != NULL);
  CHECK(strstr(json, "\"network_buffers\": 2048") != NULL);
  free(json);
  char args[256];
  CHECK_RC(mb_jvm_args(rt, args, sizeof args, NULL), MB_OK);
  CHECK(strncmp(args, "-Xmx161061270 -Xms161061270 -XX:MaxDirectMemorySize=", 52) == 0);
  CHECK_RC(mb_jvm_args(rt, args, 4, &needed), MB_ERR_BUFFER_TOO_SMALL);
  CHECK(strcmp(args, "-Xm") == 0);
  CHECK_RC(mb_plan_json(NULL, args, sizeof args, NULL), MB_ERR_NULL_POINTER);

  /* JobManager: no network buffers. */
  mb_runtime *jm = NULL;
  const char *jm_props[1] = {"jobmanager.memory.process.size=1g"};
  memset(&opts, 0, sizeof opts);
  opts.struct_size = sizeof opts;
  opts.role = MB_ROLE_JOBMANAGER;
  opts.properties = jm_props;
  opts.properties_len = 1;
  opts.ignore_container = 1;
  CHECK_RC(mb_runtime_new(&opts, &jm), MB_OK);
  mb_local_pool *pool = NULL;
  CHECK_RC(mb_local_pool_new(jm, 1, 2, &pool), MB_ERR_UNAVAILABLE);
  CHECK(usage_of(jm, MB_CATEGORY_MANAGED).quota == 0);
  CHECK_RC(mb_runtime_free(jm), MB_OK);

  CHECK_RC(mb_runtime_free(rt), MB_OK);
  CHECK_RC(mb_runtime_free(rt), MB_ERR_INVALID_HANDLE);
  CHECK(strstr(last_error(), "already freed") != NULL);
  CHECK_RC(mb_runtime_free(NULL), MB_OK);
  CHECK_RC(mb_runtime_free((mb_runtime *)(uintptr_t)0xdeadbeef), MB_ERR_INVALID_HANDLE);
  CHECK_RC(mb_reserve(rt, MB_CATEGORY_HEAP, 1), MB_ERR_INVALID_HANDLE);
}

static void test_budget(void) {
  mb_runtime *rt = new_runtime(NULL);
  mb_category_usage u = usage_of(rt, MB_CATEGORY_DIRECT);
  uint64_t quota = u.quota;
  CHECK(quota == 134217728);
  CHECK(u.enforced == 1);
  CHECK_RC(mb_reserve(rt, MB_CATEGORY_DIRECT, quota + 1), MB_ERR_QUOTA_EXCEEDED);
  CHECK(strstr(last_error(), "Cannot reserve 134217729 bytes of direct memory (used: 0, quota: "
                             "134217728). Increase 'taskmanager.memory.task.off-heap.size'") != NULL);
  CHECK_RC(mb_reserve(rt, 5, 1), MB_ERR_INVALID_ARGUMENT);
  CHECK(strstr(last_error(), "category 5 is not one of") != NULL);
  CHECK_RC(mb_reserve(NULL, MB_CATEGORY_DIRECT, 1), MB_ERR_NULL_POINTER);
  CHECK_RC(mb_reserve(rt, MB_CATEGORY_DIRECT, 4096), MB_OK);
  CHECK(usage_of(rt, MB_CATEGORY_DIRECT).used == 4096);
  CHECK(usage_of(rt, MB_CATEGORY_DIRECT).host_reserved == 4096);
  CHECK_RC(mb_release(rt, MB_CATEGORY_DIRECT, 4097), MB_ERR_INVALID_ARGUMENT);
  CHECK(strstr(last_error(), "holds only 4096 bytes") != NULL);
  CHECK_RC(mb_release(rt, MB_CATEGORY_DIRECT, 4096), MB_OK);
  CHECK_RC(mb_release(rt, MB_CATEGORY_DIRECT, 1), MB_ERR_INVALID_ARGUMENT);

  uint8_t *p = NULL;
  CHECK_RC(mb_alloc(rt, MB_CATEGORY_DIRECT, 1000, 256, &p), MB_OK);
  CHECK(p != NULL && ((uintptr_t)p % 256) == 0);
  memset(p, 0x5a, 1000);
  CHECK(usage_of(rt, MB_CATEGORY_DIRECT).host_allocated == 1000);
  uint8_t *q = NULL;
  CHECK_RC(mb_alloc(rt, MB_CATEGORY_DIRECT, quota, 8, &q), MB_ERR_QUOTA_EXCEEDED);
  CHECK_RC(mb_alloc(rt, MB_CATEGORY_DIRECT, 0, 8, &q), MB_ERR_INVALID_ARGUMENT);
  CHECK_RC(mb_alloc(rt, MB_CATEGORY_DIRECT, 8, 12, &q), MB_ERR_INVALID_ARGUMENT);
  CHECK_RC(mb_alloc(rt, MB_CATEGORY_DIRECT, 8, 8, NULL), MB_ERR_NULL_POINTER);
  CHECK_RC(mb_alloc(rt, 99, 8, 8, &q), MB_ERR_INVALID_ARGUMENT);
  CHECK_RC(mb_free(rt, p), MB_OK);
  CHECK_RC(mb_free(rt, p), MB_ERR_INVALID_ARGUMENT);
  CHECK_RC(mb_free(rt, NULL), MB_OK);
  CHECK_RC(mb_free(rt, (uint8_t *)&quota), MB_ERR_INVALID_ARGUMENT);
  CHECK(usage_of(rt, MB_CATEGORY_DIRECT).used == 0);

  /* Held at free time: released with the runtime (valgrind checks nothing leaks). */
  CHECK_RC(mb_alloc(rt, MB_CATEGORY_HEAP, 64, 8, &q), MB_OK);
  CHECK_RC(mb_reserve(rt, MB_CATEGORY_HEAP, 64), MB_OK);

  mb_category_usage small;
  memset(&small, 0, sizeof small);
  small.struct_size = 16; /* an older, shorter struct: only the prefix is written */
  small.peak = 777;
  CHECK_RC(mb_usage(rt, MB_CATEGORY_HEAP, &small), MB_OK);
  CHECK(small.used == 128 && small.peak == 777);
  small.struct_size = 4;
  CHECK_RC(mb_usage(rt, MB_CATEGORY_HEAP, &small), MB_ERR_INVALID_ARGUMENT);
  CHECK_RC(mb_usage(rt, MB_CATEGORY_HEAP, NULL), MB_ERR_NULL_POINTER);
  CHECK_RC(mb_runtime_free(rt), MB_OK);
}

static void test_managed(void) {
  mb_runtime *rt = new_runtime(NULL);
  mb_runtime *other = new_runtime(NULL);
  mb_segment segs[3];
  CHECK_RC(mb_managed_allocate_pages(rt, 11, 3, segs), MB_OK);
  for (int i = 0; i < 3; i++) {
    CHECK(segs[i].size == 32768);
    memset(segs[i].ptr, i, segs[i].size);
  }
  CHECK(usage_of(rt, MB_CATEGORY_MANAGED).used == 3 * 32768);
  CHECK_RC(mb_managed_release(other, segs[0].id), MB_ERR_INVALID_ARGUMENT);
  CHECK_RC(mb_managed_release(rt, segs[0].id), MB_OK);
  CHECK_RC(mb_managed_release(rt, segs[0].id), MB_ERR_INVALID_HANDLE);
  CHECK_RC(mb_managed_release(rt, 0), MB_ERR_INVALID_HANDLE);
  CHECK_RC(mb_managed_release_all(rt, 11), MB_OK);
  CHECK_RC(mb_managed_release(rt, segs[1].id), MB_ERR_INVALID_HANDLE);
  CHECK_RC(mb_managed_release_all(rt, 12345), MB_OK);
  CHECK(usage_of(rt, MB_CATEGORY_MANAGED).used == 0);
  CHECK_RC(mb_managed_allocate_pages(rt, 1, 100000, segs), MB_ERR_QUOTA_EXCEEDED);
  CHECK_RC(mb_managed_allocate_pages(rt, 1, 1, NULL), MB_ERR_NULL_POINTER);
  CHECK_RC(mb_managed_allocate_pages(rt, 1, 0, NULL), MB_OK);
  CHECK_RC(mb_managed_allocate_pages(rt, 2, 2, segs), MB_OK); /* freed with the runtime */
  CHECK_RC(mb_runtime_free(rt), MB_OK);
  CHECK_RC(mb_runtime_free(other), MB_OK);
}

struct waiter {
  mb_local_pool *pool;
  uint32_t timeout_ms;
  int32_t rc;
  mb_buffer buf;
};

static void test_refusal(void) {
  mb_runtime *rt = new_runtime(NULL);
  mb_refusal r;
  memset(&r, 0, sizeof r);
  r.struct_size = sizeof r;
  uint64_t quota = usage_of(rt, MB_CATEGORY_DIRECT).quota;
  CHECK_RC(mb_reserve(rt, MB_CATEGORY_DIRECT, 4096), MB_OK);
  CHECK_RC(mb_reserve(rt, MB_CATEGORY_DIRECT, quota), MB_ERR_QUOTA_EXCEEDED);
  char message[1024];
  snprintf(message, sizeof message, "%s", last_error());
  CHECK_RC(mb_last_refusal(&r), MB_OK);
  CHECK(r.struct_size == sizeof r && r.category == MB_CATEGORY_DIRECT);
  CHECK(r.requested == quota && r.used == 4096 && r.quota == quota);
  CHECK(r.limit == MB_LIMIT_CATEGORY && r.role == MB_ROLE_TASKMANAGER);
  CHECK(strcmp(r.key, "taskmanager.memory.task.off-heap.size") == 0);
  CHECK(strcmp(r.message, message) == 0);
  /* Another error does not replace it, nor does asking change the last error. */
  CHECK_RC(mb_reserve(rt, 9, 1), MB_ERR_INVALID_ARGUMENT);
  CHECK_RC(mb_last_refusal(&r), MB_OK);
  CHECK(r.requested == quota);
  CHECK(strstr(last_error(), "category 9") != NULL);
  CHECK_RC(mb_last_refusal(NULL), MB_ERR_NULL_POINTER);
  r.struct_size = 4;
  CHECK_RC(mb_last_refusal(&r), MB_ERR_INVALID_ARGUMENT);
  /* The network buffers are a pool of the plan's size. */
  mb_local_pool *pool = NULL;
  CHECK_RC(mb_local_pool_new(rt, 2049, MB_UNBOUNDED, &pool), MB_ERR_QUOTA_EXCEEDED);
  r.struct_size = sizeof r;
  CHECK_RC(mb_last_refusal(&r), MB_OK);
  CHECK(r.category == MB_CATEGORY_NETWORK && r.limit == MB_LIMIT_POOL);
  CHECK(r.requested == 2049ull * 32768 && r.quota == 2048ull * 32768);
  CHECK(strcmp(r.key, "taskmanager.memory.network.fraction") == 0);
  CHECK_RC(mb_report_refusals(2), MB_ERR_INVALID_ARGUMENT);
  CHECK_RC(mb_report_refusals(0), MB_OK);
  CHECK_RC(mb_runtime_free(rt), MB_OK);
}

static void test_plan_options(void) {
  const char *props[2] = {"taskmanager.memory.process.size=4g",
                          "taskmanager.network.numberOfBuffers=4096"};
  mb_runtime_options opts;
  memset(&opts, 0, sizeof opts);
  opts.struct_size = sizeof opts;
  opts.properties = props;
  opts.properties_len = 2;
  opts.ignore_container = 1;
  mb_runtime *v1 = NULL, *v2 = NULL;
  CHECK_RC(mb_runtime_new(&opts, &v1), MB_OK);
  opts.flink_version = MB_FLINK_2;
  opts.host = MB_HOST_NATIVE;
  CHECK_RC(mb_runtime_new(&opts, &v2), MB_OK);
  /* Flink 1.20 sizes the network by numberOfBuffers; 2.x ignores it (a plan warning). */
  CHECK(usage_of(v1, MB_CATEGORY_NETWORK).quota == 4096ull * 32768);
  CHECK(usage_of(v2, MB_CATEGORY_NETWORK).quota != 4096ull * 32768);
  /* native: metaspace (256 MiB) moves from the overhead quota to the heap quota. */
  CHECK(usage_of(v2, MB_CATEGORY_OVERHEAD).quota + (256u << 20) ==
        usage_of(v1, MB_CATEGORY_OVERHEAD).quota);
  size_t needed = 0;
  char json[8192];
  CHECK_RC(mb_plan_json(v2, json, sizeof json, &needed), MB_OK);
  CHECK(strstr(json, "\"host\": \"native\"") != NULL);
  CHECK(strstr(json, "taskmanager.network.numberOfBuffers") != NULL);
  CHECK_RC(mb_runtime_free(v1), MB_OK);
  CHECK_RC(mb_runtime_free(v2), MB_OK);
  opts.strict = 1; /* the ignored key is now an error */
  CHECK_RC(mb_runtime_new(&opts, &v2), MB_ERR_CONFIG);
  CHECK(strstr(last_error(), "taskmanager.network.numberOfBuffers") != NULL);
  opts.strict = 2;
  CHECK_RC(mb_runtime_new(&opts, &v2), MB_ERR_INVALID_ARGUMENT);
  CHECK(strstr(last_error(), "options->strict is 2") != NULL);
}

static void test_env_quotas(void) {
  mb_runtime_options opts;
  memset(&opts, 0, sizeof opts);
  opts.struct_size = sizeof opts;
  opts.quota_source = MB_QUOTAS_FROM_ENVIRONMENT;
  mb_runtime *rt = NULL;
  CHECK_RC(mb_runtime_new(&opts, &rt), MB_ERR_CONFIG);
  CHECK(strstr(last_error(), "MEMBUDGET_QUOTA_MANAGED is not set") != NULL);
  /* What `membudget plan --format env` exports, set by hand (single-threaded here). */
  setenv("MEMBUDGET_QUOTA_ROLE", "taskmanager", 1);
  setenv("MEMBUDGET_QUOTA_HEAP", "64m", 1);
  setenv("MEMBUDGET_QUOTA_DIRECT", "1m", 1);
  setenv("MEMBUDGET_QUOTA_MANAGED", "2m", 1);
  setenv("MEMBUDGET_QUOTA_NETWORK", "1m", 1);
  CHECK_RC(mb_runtime_new(&opts, &rt), MB_OK);
  CHECK(usage_of(rt, MB_CATEGORY_DIRECT).quota == 1u << 20);
  CHECK(usage_of(rt, MB_CATEGORY_OVERHEAD).quota == UINT64_MAX);
  mb_local_pool *pool = NULL;
  CHECK_RC(mb_local_pool_new(rt, 32, 32, &pool), MB_OK); /* 1 MiB of 32 KiB buffers */
  CHECK_RC(mb_local_pool_free(pool), MB_OK);
  CHECK_RC(mb_plan_json(rt, NULL, 0, NULL), MB_ERR_UNAVAILABLE);
  CHECK_RC(mb_runtime_free(rt), MB_OK);
  setenv("MEMBUDGET_QUOTA_NETWROK", "1m", 1);
  CHECK_RC(mb_runtime_new(&opts, &rt), MB_ERR_CONFIG);
  CHECK(strstr(last_error(), "Unknown quota variable MEMBUDGET_QUOTA_NETWROK") != NULL);
  const char *names[] = {"MEMBUDGET_QUOTA_ROLE",    "MEMBUDGET_QUOTA_HEAP",
                         "MEMBUDGET_QUOTA_DIRECT",  "MEMBUDGET_QUOTA_MANAGED",
                         "MEMBUDGET_QUOTA_NETWORK", "MEMBUDGET_QUOTA_NETWROK"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) unsetenv(names[i]);
}

static void *wait_for_buffer(void *arg) {
  struct waiter *w = arg;
  w->rc = mb_buffer_request_timeout(w->pool, w->timeout_ms, &w->buf);
  return NULL;
}

static int callback_calls;
static int32_t callback_status;
static uint64_t callback_id;

static void on_buffer(void *ctx, int32_t status, const mb_buffer *buffer) {
  (*(int *)ctx)++;
  callback_calls++;
  callback_status = status;
  callback_id = buffer ? buffer->id : 0;
}

/* Waits until `n` threads are blocked in a request on `pool`, observed through
 * mb_local_pool_stats (not assumed after a sleep); gives up after 10 s. */
static int await_waiters(const mb_local_pool *pool, uint64_t n) {
  double deadline = now_s() + 10;
  mb_pool_stats s;
  memset(&s, 0, sizeof s);
  s.struct_size = sizeof s;
  while (now_s() < deadline) {
    if (mb_local_pool_stats(pool, &s) != MB_OK) return 0;
    if (s.waiters == n) return 1;
    sched_yield();
  }
  return 0;
}

static void test_buffers(void) {
  mb_runtime *rt = new_runtime(NULL);
  uint64_t network_before = usage_of(rt, MB_CATEGORY_NETWORK).used;
  CHECK(network_before == 2048u * 32768u);
  mb_local_pool *pool = NULL;
  CHECK_RC(mb_local_pool_new(rt, 3, 1, &pool), MB_ERR_INVALID_ARGUMENT);
  CHECK_RC(mb_local_pool_new(rt, 5000, 6000, &pool), MB_ERR_QUOTA_EXCEEDED);
  CHECK(strstr(last_error(), "Insufficient number of network buffers") != NULL);
  CHECK_RC(mb_local_pool_new(rt, 1, 2, NULL), MB_ERR_NULL_POINTER);
  CHECK_RC(mb_local_pool_new(rt, 1, 2, &pool), MB_OK);

  mb_buffer a, b, c;
  CHECK_RC(mb_buffer_request(pool, &a), MB_OK);
  CHECK(a.capacity == 32768 && a.ptr != NULL);
  memset(a.ptr, 0xab, a.capacity);
  CHECK_RC(mb_buffer_request(pool, &b), MB_OK);
  CHECK(a.id != b.id);
  CHECK_RC(mb_buffer_request(pool, &c), MB_ERR_UNAVAILABLE);
  CHECK(strstr(last_error(), "no buffer available (2 of 2 in use)") != NULL);
  CHECK_RC(mb_buffer_request_timeout(pool, 10, &c), MB_ERR_TIMEOUT);
  CHECK(strstr(last_error(), "within 10 ms") != NULL);
  CHECK_RC(mb_buffer_request(pool, NULL), MB_ERR_NULL_POINTER);
  CHECK_RC(mb_buffer_request(NULL, &c), MB_ERR_NULL_POINTER);
  CHECK_RC(mb_buffer_request((const mb_local_pool *)rt, &c), MB_ERR_INVALID_HANDLE);

  CHECK_RC(mb_buffer_recycle(a.id), MB_OK);
  CHECK_RC(mb_buffer_recycle(a.id), MB_ERR_INVALID_HANDLE);
  CHECK(strstr(last_error(), "already freed or recycled") != NULL);
  CHECK_RC(mb_buffer_recycle(0), MB_ERR_INVALID_HANDLE);
  CHECK_RC(mb_buffer_recycle(0x7fffffffffffffffull), MB_ERR_INVALID_HANDLE);
  CHECK_RC(mb_buffer_recycle(b.id ^ (1ull << 40)), MB_ERR_INVALID_HANDLE);

  /* A blocked request wakes when another thread recycles. */
  CHECK_RC(mb_buffer_request(pool, &a), MB_OK);
  struct waiter w = {pool, MB_WAIT_FOREVER, 1, {0}};
  pthread_t t;
  pthread_create(&t, NULL, wait_for_buffer, &w);
  CHECK(await_waiters(pool, 1));
  CHECK_RC(mb_buffer_recycle(b.id), MB_OK);
  pthread_join(t, NULL);
  CHECK_RC(w.rc, MB_OK);
  b = w.buf;

  /* The availability callback: registered while empty, run by the recycling thread. */
  int ctx_calls = 0;
  CHECK_RC(mb_local_pool_on_available(pool, on_buffer, &ctx_calls), MB_OK);
  CHECK(callback_calls == 0);
  CHECK_RC(mb_buffer_recycle(a.id), MB_OK);
  CHECK(callback_calls == 1 && ctx_calls == 1 && callback_status == MB_OK && callback_id != 0);
  a.id = callback_id;
  CHECK_RC(mb_local_pool_on_available(pool, NULL, NULL), MB_ERR_NULL_POINTER);

  /* Freeing the pool wakes waiters and callbacks with MB_ERR_DESTROYED. */
  CHECK_RC(mb_local_pool_on_available(pool, on_buffer, &ctx_calls), MB_OK);
  w.timeout_ms = 10000;
  w.rc = 1;
  pthread_create(&t, NULL, wait_for_buffer, &w);
  CHECK(await_waiters(pool, 1));
  CHECK_RC(mb_local_pool_free(pool), MB_OK);
  pthread_join(t, NULL);
  CHECK_RC(w.rc, MB_ERR_DESTROYED);
  CHECK(callback_calls == 2 && callback_status == MB_ERR_DESTROYED);
  CHECK_RC(mb_local_pool_free(pool), MB_ERR_INVALID_HANDLE);
  CHECK_RC(mb_local_pool_free(NULL), MB_OK);
  CHECK_RC(mb_buffer_request(pool, &c), MB_ERR_INVALID_HANDLE);
  /* Buffers lent out survive their pool. */
  memset(b.ptr, 1, 16);
  CHECK_RC(mb_buffer_recycle(a.id), MB_OK);
  CHECK_RC(mb_buffer_recycle(b.id), MB_OK);
  CHECK(usage_of(rt, MB_CATEGORY_NETWORK).used == network_before);
  CHECK_RC(mb_runtime_free(rt), MB_OK);
}

static void test_batches_and_teardown(void) {
  mb_runtime *rt = new_runtime(NULL);
  mb_local_pool *pool = NULL, *other = NULL;
  CHECK_RC(mb_local_pool_new(rt, 4, 4, &pool), MB_OK);
  CHECK_RC(mb_local_pool_new(rt, 2, 2, &other), MB_OK);
  mb_buffer bufs[8];
  uint64_t ids[8];
  uint32_t got = 99;
  CHECK_RC(mb_buffer_request_many(pool, 8, bufs, &got), MB_OK);
  CHECK(got == 4);
  for (uint32_t i = 0; i < got; i++) {
    memset(bufs[i].ptr, (int)i, bufs[i].capacity);
    ids[i] = bufs[i].id;
  }
  CHECK_RC(mb_buffer_request_many(pool, 8, bufs, &got), MB_ERR_UNAVAILABLE);
  CHECK(got == 0);
  CHECK_RC(mb_buffer_request_many(pool, 1, NULL, &got), MB_ERR_NULL_POINTER);
  /* Every valid id is recycled; a repeated one is refused, never freed twice. */
  ids[4] = ids[0];
  CHECK_RC(mb_buffer_recycle_many(ids, 5), MB_ERR_INVALID_HANDLE);
  CHECK(strstr(last_error(), "1 of 5 ids refused") != NULL);
  CHECK_RC(mb_buffer_recycle_many(ids, 4), MB_ERR_INVALID_HANDLE);
  CHECK_RC(mb_buffer_recycle_many(NULL, 0), MB_OK);

  /* Whole fields only: a struct_size ending inside a field is refused. */
  mb_category_usage u;
  memset(&u, 0, sizeof u);
  u.struct_size = 12;
  CHECK_RC(mb_usage(rt, MB_CATEGORY_HEAP, &u), MB_ERR_INVALID_ARGUMENT);
  CHECK(strstr(last_error(), "ends inside field 'used'") != NULL);
  mb_runtime_options opts;
  memset(&opts, 0, sizeof opts);
  opts.struct_size = 12;
  mb_runtime *torn = NULL;
  CHECK_RC(mb_runtime_new(&opts, &torn), MB_ERR_INVALID_ARGUMENT);
  CHECK(strstr(last_error(), "ends inside field 'config_file'") != NULL);

  /* Freeing the runtime destroys its pools (even one holding idle buffers); a buffer lent
   * out stays valid until recycled. */
  mb_buffer held;
  CHECK_RC(mb_buffer_request(pool, &held), MB_OK);
  CHECK_RC(mb_runtime_free(rt), MB_OK);
  mb_buffer c;
  CHECK_RC(mb_buffer_request(pool, &c), MB_ERR_DESTROYED);
  CHECK_RC(mb_buffer_request(other, &c), MB_ERR_DESTROYED);
  CHECK_RC(mb_buffer_request_many(other, 2, bufs, &got), MB_ERR_DESTROYED);
  CHECK_RC(mb_buffer_request_timeout(other, 1000, &c), MB_ERR_DESTROYED);
  mb_pool_stats s;
  memset(&s, 0, sizeof s);
  s.struct_size = sizeof s;
  CHECK_RC(mb_local_pool_stats(other, &s), MB_OK);
  CHECK(s.destroyed == 1 && s.waiters == 0);
  memset(held.ptr, 7, held.capacity);
  CHECK_RC(mb_buffer_recycle(held.id), MB_OK);
  CHECK_RC(mb_buffer_recycle(held.id), MB_ERR_INVALID_HANDLE);
  CHECK_RC(mb_reserve(rt, MB_CATEGORY_HEAP, 1), MB_ERR_INVALID_HANDLE);
  CHECK_RC(mb_local_pool_free(pool), MB_OK);
  CHECK_RC(mb_local_pool_free(other), MB_OK);
}

struct worker {
  mb_runtime *rt;
  mb_local_pool *pool;
  int iterations;
  int errors;
};

static void *hammer(void *arg) {
  struct worker *w = arg;
  for (int i = 0; i < w->iterations; i++) {
    mb_buffer b;
    if (mb_buffer_request_timeout(w->pool, 5000, &b) != MB_OK) w->errors++;
    else if (mb_buffer_recycle(b.id) != MB_OK) w->errors++;
    if (mb_reserve(w->rt, MB_CATEGORY_HEAP, 100) != MB_OK) w->errors++;
    if (mb_release(w->rt, MB_CATEGORY_HEAP, 100) != MB_OK) w->errors++;
  }
  return NULL;
}

static void test_threads(int iterations) {
  mb_runtime *rt = new_runtime(NULL);
  mb_local_pool *pool = NULL;
  CHECK_RC(mb_local_pool_new(rt, 2, 2, &pool), MB_OK);
  pthread_t t[4];
  struct worker w[4];
  for (int i = 0; i < 4; i++) {
    w[i] = (struct worker){rt, pool, iterations, 0};
    pthread_create(&t[i], NULL, hammer, &w[i]);
  }
  int errors = 0;
  for (int i = 0; i < 4; i++) {
    pthread_join(t[i], NULL);
    errors += w[i].errors;
  }
  CHECK(errors == 0);
  CHECK(usage_of(rt, MB_CATEGORY_HEAP).used == 0);
  CHECK_RC(mb_local_pool_free(pool), MB_OK);
  CHECK_RC(mb_runtime_free(rt), MB_OK);
}

static void perf(void) {
  mb_runtime *rt = new_runtime(NULL);
  CHECK(rt != NULL);
  if (rt == NULL) return;
  mb_local_pool *pool = NULL;
  CHECK_RC(mb_local_pool_new(rt, 1, 16, &pool), MB_OK);
  const int n = 2000000;
  mb_buffer b;
  int errors = 0;
  double t0 = now_s();
  for (int i = 0; i < n; i++) {
    errors += mb_buffer_request(pool, &b) != MB_OK;
    errors += mb_buffer_recycle(b.id) != MB_OK;
  }
  double t1 = now_s();
  for (int i = 0; i < n; i++) {
    errors += mb_reserve(rt, MB_CATEGORY_DIRECT, 4096) != MB_OK;
    errors += mb_release(rt, MB_CATEGORY_DIRECT, 4096) != MB_OK;
  }
  double t2 = now_s();
  mb_local_pool *batch_pool = NULL;
  CHECK_RC(mb_local_pool_new(rt, 16, 16, &batch_pool), MB_OK);
  mb_buffer bufs[16];
  uint64_t ids[16];
  for (int i = 0; i < n / 16; i++) {
    uint32_t got = 0;
    errors += mb_buffer_request_many(batch_pool, 16, bufs, &got) != MB_OK || got != 16;
    for (int j = 0; j < 16; j++) ids[j] = bufs[j].id;
    errors += mb_buffer_recycle_many(ids, 16) != MB_OK;
  }
  double t3 = now_s();
  CHECK_RC(mb_local_pool_free(batch_pool), MB_OK);
  CHECK(errors == 0);
  CHECK(usage_of(rt, MB_CATEGORY_DIRECT).used == 0);
  printf("perf c buffer_request+recycle %.0f round trips/s (%.1f ns each)\n",
         n / (t1 - t0), (t1 - t0) / n * 1e9);
  printf("perf c reserve+release %.0f round trips/s (%.1f ns each)\n", n / (t2 - t1),
         (t2 - t1) / n * 1e9);
  printf("perf c buffer_request_many+recycle_many(16) %.0f buffers/s (%.1f ns each)\n",
         n / (t3 - t2), (t3 - t2) / n * 1e9);
  CHECK_RC(mb_local_pool_free(pool), MB_OK);
  CHECK_RC(mb_runtime_free(rt), MB_OK);
}

int main(int argc, char **argv) {
  int do_perf = argc > 1 && strcmp(argv[1], "--perf") == 0;
  int quick = argc > 1 && strcmp(argv[1], "--quick") == 0; /* under valgrind */
  test_version_and_errors();
  test_runtime();
  test_budget();
  test_managed();
  test_refusal();
  test_plan_options();
  test_env_quotas();
  test_buffers();
  test_batches_and_teardown();
  test_threads(quick ? 200 : 20000);
  if (do_perf) perf();
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
