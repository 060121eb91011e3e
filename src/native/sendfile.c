/*
 * sendfile(2) for Node, as a Node-API addon (ABI-stable: one build serves every Node 24).
 *
 * Why: a large GET otherwise copies every byte twice (page cache -> user buffer -> socket);
 * sendfile moves them inside the kernel, which is what lets nginx go twice as fast.
 *
 * exports.sendfileStep(outFd, inFd, offset, length, callback(errno, sent, state))
 *   Runs on the libuv thread pool. Sends at most min(length, maxStep) bytes of inFd from
 *   `offset` into the non-blocking socket outFd. When the socket stays full for WAIT_MS in
 *   total it returns what it sent with state BLOCKED, so a slow or stalled client never holds a
 *   pool thread (the pool also serves every file operation of the process); JS waits and
 *   calls again. errno is 0 or the error of sendfile/poll (EPIPE, ECONNRESET: client gone).
 *   state: 0 DONE (the requested bytes went out), 1 BLOCKED, 2 EOF (inFd ended first).
 * exports.dup(fd) -> fd
 *   A close-on-exec duplicate. JS sends through a duplicate of the socket's descriptor: if Node
 *   closes the socket meanwhile, the number may be reused by another open(), and a step must
 *   never write file bytes into an unrelated descriptor.
 * exports.maxStep: the cap on one step, in bytes.
 * exports.spliceStep(inFd, outFd, offset, length, callback(errno, moved, state))
 *   The other direction, for uploads: runs on the thread pool and moves at most
 *   min(length, maxStep) bytes from the non-blocking socket inFd into the file outFd at `offset`
 *   with splice(2) through a pipe (socket -> pipe -> page cache), never through user space.
 *   Every byte taken from the socket is in the file when the step returns. When the socket has
 *   nothing to read the step returns BLOCKED at once (JS then waits with waitReadable), so no
 *   client ever holds a pool thread. state: DONE, BLOCKED, or EOF (the client closed its side).
 *   A file that splice cannot write (EINVAL) gets the bytes copied from the pipe instead.
 * exports.waitReadable(fd, callback(errno))
 *   Calls back once the socket fd has something to read, or its peer hung up (errno 0), or
 *   stopWaiting(fd) ended the wait (ECANCELED), or the poll failed (its errno). It watches fd
 *   on Node's own event loop (a libuv poll handle): a slow upload between two splice steps costs
 *   neither a pool thread nor a timer that looks again. One wait per fd at a time.
 * exports.setLowWater(fd, bytes)
 *   Sets the socket's receive low-water mark (SO_RCVLOWAT): it counts as readable only once that
 *   many bytes are queued (or at its end), so a client sending in small pieces wakes a wait once
 *   per batch instead of once per piece. Throws the errno's text on failure. 1 is the default.
 * exports.stopWaiting(fd) -> boolean
 *   Ends the wait on fd, if there is one (its callback runs with ECANCELED before this returns):
 *   before the fd is closed, and when the upload stops (a timeout, a shutdown).
 * exports.sendNow(fd, head, body, offset, length) -> sent (>= 0) or -errno
 *   One non-blocking sendmsg(2) on the main thread: the latin1 string `head` followed by `length`
 *   bytes of the Uint8Array `body` from `offset`. Returns how many bytes the socket took (all,
 *   some or none: 0 for EAGAIN and ENOBUFS), or minus the errno (EPIPE, ECONNRESET: client
 *   gone). For small answers held in memory: Node's own socket write costs more main-thread
 *   time than the request's other work together (a write request, callbacks, stream state).
 * exports.finishUpload(fd, durable, from, to, callback(errno, stage))
 *   The end of an upload as one thread-pool job instead of three: fdatasync(fd) when `durable`
 *   (stage 1), close(fd) (stage 2), then renameNoReplace(from, to) (stage 3). errno 0 with stage 3:
 *   published. Whatever happens, fd is closed when the callback runs; `from` is left in place
 *   unless it was renamed.
 * exports.renameNoReplace(from, to, callback(errno))
 *   renameat2(RENAME_NOREPLACE) on the thread pool: moves `from` to `to` only if `to` does not
 *   exist, atomically (EEXIST otherwise). The fs store publishes an upload with it in one
 *   namespace operation instead of link + unlink; EINVAL/ENOSYS/EOPNOTSUPP mean the file system
 *   cannot, and the store falls back to link.
 * exports.scanDir(dirFd, max, headBytes, out, callback(errno, count, end))
 *   One thread-pool job lists the next entries of the open directory dirFd (getdents64; at most
 *   `max`, from 16, and up to 11 fewer) and reads the first `headBytes` bytes of each regular
 *   file among them: openat(O_NOFOLLOW | O_NONBLOCK), one pread, close. A full listing reads
 *   a million upload headers this way; through node:fs each costs a directory entry object, an
 *   open, a read and a close — their callbacks and garbage on the main thread — here a batch
 *   costs one callback. Into the Uint8Array `out` (kept alive until the callback; JS must
 *   not touch it meanwhile), entry i at i·(8 + 256 + headBytes): an int32 (native byte order),
 *   the bytes read or minus the errno; an int32, the name's length; the name (up to 255 bytes);
 *   then from +264 the bytes read. The caller's buffer, reused, rather than a fresh one per call:
 *   a fresh large buffer costs a page fault per 4 KiB. `end`: the directory has no more entries.
 *   Jobs may run at once on one descriptor: their getdents64 calls take turns (a lock in the
 *   addon), their reads do not. Names starting with "." and entries d_type says are not regular
 *   files are left out (of an unknown type, the open or the read of a non-file fails: a folder
 *   with EISDIR, a symlink with ELOOP); O_NONBLOCK: a FIFO never holds the thread.
 */
#define NAPI_VERSION 8
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <dirent.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <node_api.h>
#include <uv.h>

/* One step moves at most this much: ~10 ms from the page cache, so an abort or a shutdown is
 * noticed promptly between steps, while the per-step round trip stays negligible. */
#define MAX_STEP (16 * 1024 * 1024)
/* Total time one step may wait for a full socket to become writable before handing back. */
#define WAIT_MS 10

enum { STEP_DONE = 0, STEP_BLOCKED = 1, STEP_EOF = 2 };

/* What every call queued on the thread pool holds; the first member of each call's struct. */
typedef struct {
  napi_ref callback;
  napi_async_work work;
} job_t;

/* Queues `data` (whose struct starts with a job_t) to run `execute` on the pool and `complete`
 * on the main thread with `callback` kept alive meanwhile. On failure nothing stays referenced or
 * queued, an error is thrown, and 0 is returned: the caller frees its struct. */
static int queue_job(napi_env env, void *data, const char *name, napi_value callback,
                     napi_async_execute_callback execute, napi_async_complete_callback complete) {
  job_t *job = data;
  napi_value title;
  if (napi_create_reference(env, callback, 1, &job->callback) != napi_ok) job->callback = NULL;
  if (job->callback == NULL || napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &title) != napi_ok ||
      napi_create_async_work(env, NULL, title, execute, complete, data, &job->work) != napi_ok) {
    if (job->callback != NULL) napi_delete_reference(env, job->callback);
    napi_throw_error(env, NULL, "cannot queue the work");
    return 0;
  }
  if (napi_queue_async_work(env, job->work) != napi_ok) {
    napi_delete_async_work(env, job->work);
    napi_delete_reference(env, job->callback);
    napi_throw_error(env, NULL, "cannot queue the work");
    return 0;
  }
  return 1;
}

/* Calls the job's callback with `argv` (when every value could be made: `ok`), then releases the
 * callback and the work item. An exception thrown by the callback stays pending and Node reports
 * it as uncaught. */
static void finish_job(napi_env env, job_t *job, int ok, size_t argc, napi_value *argv) {
  napi_value callback, global;
  if (ok && napi_get_reference_value(env, job->callback, &callback) == napi_ok && napi_get_global(env, &global) == napi_ok)
    napi_call_function(env, global, callback, argc, argv, NULL);
  napi_delete_reference(env, job->callback);
  napi_delete_async_work(env, job->work);
}

/* One step of either direction: sendfile (file -> socket) or splice (socket -> file). */
typedef struct {
  job_t job;
  int in_fd;
  int out_fd;
  int64_t offset; /* in the file */
  int64_t length;
  int64_t moved;
  int state;
  int err;
} step_t;

static int64_t now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void execute(napi_env env, void *data) {
  step_t *s = data;
  off_t off = (off_t)s->offset;
  int64_t deadline = -1; /* set on the first EAGAIN: the wait budget is per step, not per poll */
  (void)env;
  while (s->moved < s->length) {
    ssize_t n = sendfile(s->out_fd, s->in_fd, &off, (size_t)(s->length - s->moved));
    if (n > 0) {
      s->moved += n;
      continue;
    }
    if (n == 0) {
      s->state = STEP_EOF;
      return;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      s->err = errno;
      return;
    }
    int64_t now = now_ms();
    if (deadline < 0) deadline = now + WAIT_MS;
    if (now >= deadline) {
      s->state = STEP_BLOCKED;
      return;
    }
    struct pollfd p = {.fd = s->out_fd, .events = POLLOUT, .revents = 0};
    int r = poll(&p, 1, (int)(deadline - now));
    if (r < 0 && errno != EINTR) {
      s->err = errno;
      return;
    }
    /* Writable, interrupted, timed out, or an error/hang-up that the next sendfile reports:
     * loop; the deadline check above ends the step when the time is up. */
  }
  s->state = STEP_DONE;
}

static void complete(napi_env env, napi_status status, void *data) {
  step_t *s = data;
  if (status == napi_cancelled && s->err == 0) s->err = ECANCELED;
  napi_value argv[3];
  int ok = napi_create_int32(env, s->err, &argv[0]) == napi_ok &&
           napi_create_double(env, (double)s->moved, &argv[1]) == napi_ok &&
           napi_create_int32(env, s->state, &argv[2]) == napi_ok;
  finish_job(env, &s->job, ok, 3, argv);
  free(s);
}

static napi_value fail(napi_env env, const char *message) {
  napi_throw_type_error(env, NULL, message);
  return NULL;
}

static int get_fd(napi_env env, napi_value v, int32_t *fd) {
  return napi_get_value_int32(env, v, fd) == napi_ok && *fd >= 0;
}

/* Reads (fdA, fdB, offset, length, callback) into a fresh step (fd_a -> in_fd when `a_is_in`)
 * and queues it to run `execute`; throws on bad arguments. `usage` names the call in errors. */
static napi_value queue_step(napi_env env, napi_callback_info info, const char *usage, const char *title,
                             int a_is_in, napi_async_execute_callback execute) {
  size_t argc = 5;
  napi_value argv[5];
  int32_t fd_a, fd_b;
  int64_t offset, length;
  napi_valuetype type;
  const char *problem = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 5)
    problem = "five arguments expected";
  else if (!get_fd(env, argv[0], &fd_a) || !get_fd(env, argv[1], &fd_b))
    problem = "descriptors must be integers >= 0";
  else if (napi_get_value_int64(env, argv[2], &offset) != napi_ok || offset < 0 ||
           napi_get_value_int64(env, argv[3], &length) != napi_ok || length < 0)
    problem = "offset and length must be numbers >= 0";
  else if (napi_typeof(env, argv[4], &type) != napi_ok || type != napi_function)
    problem = "callback must be a function";
  if (problem != NULL) {
    char message[160];
    snprintf(message, sizeof message, "%s: %s", usage, problem);
    return fail(env, message);
  }
  step_t *s = calloc(1, sizeof *s);
  if (s == NULL) {
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  s->in_fd = a_is_in ? fd_a : fd_b;
  s->out_fd = a_is_in ? fd_b : fd_a;
  s->offset = offset;
  s->length = length < MAX_STEP ? length : MAX_STEP;
  if (!queue_job(env, s, title, argv[4], execute, complete)) free(s);
  return NULL;
}

static napi_value sendfile_step(napi_env env, napi_callback_info info) {
  return queue_step(env, info, "sendfileStep(outFd, inFd, offset, length, callback)", "fileupload:sendfile", 0, execute);
}

/* Asked for as the pipe's capacity (the default is 64 KiB; the system's limit may refuse). */
#define PIPE_BYTES (1024 * 1024)

/* One pipe per pool thread, kept between steps: it is always empty when a step ends. */
static __thread int pipe_fds[2] = {-1, -1};
static __thread int64_t pipe_cap = 0;

static void drop_pipe(void) {
  if (pipe_fds[0] >= 0) close(pipe_fds[0]);
  if (pipe_fds[1] >= 0) close(pipe_fds[1]);
  pipe_fds[0] = pipe_fds[1] = -1;
}

static int ensure_pipe(void) {
  if (pipe_fds[0] >= 0) return 0;
  if (pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0) {
    pipe_fds[0] = pipe_fds[1] = -1;
    return errno;
  }
  fcntl(pipe_fds[1], F_SETPIPE_SZ, PIPE_BYTES); /* a smaller pipe only means more calls */
  int cap = fcntl(pipe_fds[1], F_GETPIPE_SZ);
  pipe_cap = cap > 0 ? cap : 65536;
  return 0;
}

/* Copies `bytes` from the pipe into the file at *off through a buffer: for a file that splice
 * cannot write (EINVAL: a file system without splice support, or an O_APPEND file). 0 or errno. */
static int copy_pipe_to_file(int out_fd, loff_t *off, int64_t bytes) {
  enum { COPY_BYTES = 64 * 1024 };
  char *buf = malloc(COPY_BYTES);
  if (buf == NULL) return ENOMEM;
  int err = 0;
  while (bytes > 0 && err == 0) {
    ssize_t r = read(pipe_fds[0], buf, bytes < COPY_BYTES ? (size_t)bytes : COPY_BYTES);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      err = r == 0 ? EIO : errno;
      break;
    }
    for (ssize_t w = 0; w < r;) {
      ssize_t n = pwrite(out_fd, buf + w, (size_t)(r - w), (off_t)*off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        err = n == 0 ? EIO : errno;
        break;
      }
      w += n;
      *off += n;
    }
    bytes -= r;
  }
  free(buf);
  return err;
}

/* Empties the pipe (holding `bytes`) into the file at *off. 0, or the errno of the failure (the
 * pipe is dropped then: what it held is lost, and the upload with it). */
static int pipe_to_file(int out_fd, loff_t *off, int64_t bytes) {
  while (bytes > 0) {
    ssize_t m = splice(pipe_fds[0], NULL, out_fd, off, (size_t)bytes, SPLICE_F_MOVE);
    if (m > 0) {
      bytes -= m;
      continue;
    }
    if (m < 0 && errno == EINTR) continue;
    int err = m == 0 ? EIO : errno;
    if (err == EINVAL || err == ENOSYS || err == EOPNOTSUPP) err = copy_pipe_to_file(out_fd, off, bytes);
    if (err != 0) drop_pipe();
    return err;
  }
  return 0;
}

static void splice_execute(napi_env env, void *data) {
  step_t *s = data;
  loff_t off = (loff_t)s->offset;
  (void)env;
  if ((s->err = ensure_pipe()) != 0) return;
  while (s->moved < s->length) {
    int64_t want = s->length - s->moved;
    if (want > pipe_cap) want = pipe_cap;
    ssize_t n = splice(s->in_fd, NULL, pipe_fds[1], NULL, (size_t)want, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n > 0) {
      if ((s->err = pipe_to_file(s->out_fd, &off, n)) != 0) return;
      s->moved += n;
      continue;
    }
    if (n == 0) {
      s->state = STEP_EOF;
      return;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) s->err = errno;
    else s->state = STEP_BLOCKED;
    return;
  }
  s->state = STEP_DONE;
}

static napi_value splice_step(napi_env env, napi_callback_info info) {
  return queue_step(env, info, "spliceStep(inFd, outFd, offset, length, callback)", "fileupload:splice", 1, splice_execute);
}

/* A wait for a readable socket: a libuv poll handle on Node's loop, in a list of the running
 * waits (touched only on the main thread) so that stopWaiting finds it by fd. */
typedef struct waiter {
  uv_poll_t poll;
  napi_env env;
  napi_ref callback;
  napi_async_context context;
  int fd;
  struct waiter *next;
} waiter_t;

static waiter_t *waiters = NULL;

static void waiter_closed(uv_handle_t *handle) {
  free(handle->data);
}

/* Takes the wait off the list, closes its handle and calls its callback with `err`. */
static void waiter_finish(waiter_t *w, int err) {
  for (waiter_t **p = &waiters; *p != NULL; p = &(*p)->next) {
    if (*p == w) {
      *p = w->next;
      break;
    }
  }
  napi_env env = w->env;
  uv_poll_stop(&w->poll);
  uv_close((uv_handle_t *)&w->poll, waiter_closed);
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value callback, global, argv[1], result;
  if (napi_get_reference_value(env, w->callback, &callback) == napi_ok && napi_get_global(env, &global) == napi_ok &&
      napi_create_int32(env, err, &argv[0]) == napi_ok) {
    /* make_callback, not call_function: this runs from the event loop, not from JS, and the
     * promise reactions the callback schedules must run right after it. */
    if (napi_make_callback(env, w->context, global, callback, 1, argv, &result) == napi_pending_exception) {
      napi_value exception;
      if (napi_get_and_clear_last_exception(env, &exception) == napi_ok) napi_fatal_exception(env, exception);
    }
  }
  napi_delete_reference(env, w->callback);
  napi_async_destroy(env, w->context);
  napi_close_handle_scope(env, scope);
}

static void waiter_ready(uv_poll_t *handle, int status, int events) {
  (void)events;
  waiter_finish(handle->data, status < 0 ? -status : 0);
}

static napi_value wait_readable(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], title;
  int32_t fd;
  napi_valuetype type;
  uv_loop_t *loop;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 || !get_fd(env, argv[0], &fd) ||
      napi_typeof(env, argv[1], &type) != napi_ok || type != napi_function)
    return fail(env, "waitReadable(fd, callback): a descriptor and a function");
  for (waiter_t *w = waiters; w != NULL; w = w->next)
    if (w->fd == fd) return fail(env, "waitReadable: this descriptor is already waited for");
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) {
    napi_throw_error(env, NULL, "waitReadable: no event loop");
    return NULL;
  }
  waiter_t *w = calloc(1, sizeof *w);
  if (w == NULL) {
    napi_throw_error(env, "ENOMEM", "waitReadable: out of memory");
    return NULL;
  }
  w->env = env;
  w->fd = fd;
  w->poll.data = w;
  int r = uv_poll_init_socket(loop, &w->poll, fd);
  if (r != 0) {
    free(w);
    napi_throw_error(env, uv_err_name(r), uv_strerror(r));
    return NULL;
  }
  if (napi_create_reference(env, argv[1], 1, &w->callback) != napi_ok ||
      napi_create_string_utf8(env, "fileupload:waitReadable", NAPI_AUTO_LENGTH, &title) != napi_ok ||
      napi_async_init(env, NULL, title, &w->context) != napi_ok) {
    if (w->callback != NULL) napi_delete_reference(env, w->callback);
    uv_close((uv_handle_t *)&w->poll, waiter_closed);
    napi_throw_error(env, NULL, "waitReadable: cannot start the wait");
    return NULL;
  }
  r = uv_poll_start(&w->poll, UV_READABLE | UV_DISCONNECT, waiter_ready);
  if (r != 0) {
    napi_delete_reference(env, w->callback);
    napi_async_destroy(env, w->context);
    uv_close((uv_handle_t *)&w->poll, waiter_closed);
    napi_throw_error(env, uv_err_name(r), uv_strerror(r));
    return NULL;
  }
  w->next = waiters;
  waiters = w;
  return NULL;
}

static napi_value stop_waiting(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  int32_t fd;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || !get_fd(env, argv[0], &fd))
    return fail(env, "stopWaiting(fd): fd must be an integer >= 0");
  waiter_t *w = waiters;
  while (w != NULL && w->fd != fd) w = w->next;
  if (w != NULL) waiter_finish(w, ECANCELED);
  napi_get_boolean(env, w != NULL, &result);
  return result;
}

static napi_value set_low_water(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd, bytes;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 || !get_fd(env, argv[0], &fd) ||
      napi_get_value_int32(env, argv[1], &bytes) != napi_ok || bytes < 1)
    return fail(env, "setLowWater(fd, bytes): a descriptor and a byte count >= 1");
  if (setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &bytes, sizeof bytes) != 0) napi_throw_error(env, NULL, strerror(errno));
  return NULL;
}

typedef struct {
  job_t job;
  char *from;
  char *to;
  int err;
  /* finishUpload only: the temp file's descriptor, whether to fdatasync it, the step reached. */
  int fd;
  int durable;
  int stage;
} rename_t;

enum { FINISH_SYNC = 1, FINISH_CLOSE = 2, FINISH_RENAME = 3 };

static void rename_execute(napi_env env, void *data) {
  rename_t *r = data;
  (void)env;
  r->err = renameat2(AT_FDCWD, r->from, AT_FDCWD, r->to, RENAME_NOREPLACE) == 0 ? 0 : errno;
}

static void rename_free(rename_t *r) {
  free(r->from);
  free(r->to);
  free(r);
}

static void rename_complete(napi_env env, napi_status status, void *data) {
  rename_t *r = data;
  if (status == napi_cancelled && r->err == 0) r->err = ECANCELED;
  napi_value argv[1];
  finish_job(env, &r->job, napi_create_int32(env, r->err, &argv[0]) == napi_ok, 1, argv);
  rename_free(r);
}

static void finish_execute(napi_env env, void *data) {
  rename_t *r = data;
  (void)env;
  r->stage = FINISH_SYNC;
  if (r->durable && fdatasync(r->fd) != 0) {
    r->err = errno;
    close(r->fd);
    return;
  }
  r->stage = FINISH_CLOSE;
  /* Linux releases the descriptor even when close fails (EINTR included): never retried. */
  if (close(r->fd) != 0 && errno != EINTR) {
    r->err = errno;
    return;
  }
  r->stage = FINISH_RENAME;
  rename_execute(env, r);
}

static void finish_complete(napi_env env, napi_status status, void *data) {
  rename_t *r = data;
  if (status == napi_cancelled && r->stage == 0) {
    close(r->fd); /* never ran: the descriptor is still ours */
    r->stage = FINISH_SYNC;
    r->err = ECANCELED;
  }
  napi_value argv[2];
  int ok = napi_create_int32(env, r->err, &argv[0]) == napi_ok && napi_create_int32(env, r->stage, &argv[1]) == napi_ok;
  finish_job(env, &r->job, ok, 2, argv);
  rename_free(r);
}

/* A JS string as a fresh NUL-terminated UTF-8 copy; NULL when it is not a string or memory fails. */
static char *string_arg(napi_env env, napi_value v) {
  size_t len;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return NULL;
  char *s = malloc(len + 1);
  if (s == NULL) return NULL;
  if (napi_get_value_string_utf8(env, v, s, len + 1, &len) != napi_ok || strlen(s) != len) {
    free(s); /* not a string, or one with a NUL inside: never a path */
    return NULL;
  }
  return s;
}

static napi_value rename_no_replace(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_valuetype type;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3 ||
      napi_typeof(env, argv[2], &type) != napi_ok || type != napi_function)
    return fail(env, "renameNoReplace(from, to, callback)");
  rename_t *r = calloc(1, sizeof *r);
  if (r == NULL) {
    napi_throw_error(env, "ENOMEM", "renameNoReplace: out of memory");
    return NULL;
  }
  r->from = string_arg(env, argv[0]);
  r->to = string_arg(env, argv[1]);
  if (r->from == NULL || r->to == NULL) {
    rename_free(r);
    return fail(env, "renameNoReplace: paths must be strings without NUL");
  }
  if (!queue_job(env, r, "fileupload:rename", argv[2], rename_execute, rename_complete)) rename_free(r);
  return NULL;
}

static napi_value finish_upload(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_valuetype type;
  int32_t fd;
  bool durable;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 5 || !get_fd(env, argv[0], &fd) ||
      napi_get_value_bool(env, argv[1], &durable) != napi_ok || napi_typeof(env, argv[4], &type) != napi_ok ||
      type != napi_function)
    return fail(env, "finishUpload(fd, durable, from, to, callback)");
  rename_t *r = calloc(1, sizeof *r);
  if (r == NULL) {
    napi_throw_error(env, "ENOMEM", "finishUpload: out of memory");
    return NULL;
  }
  r->fd = fd;
  r->durable = durable;
  r->from = string_arg(env, argv[2]);
  r->to = string_arg(env, argv[3]);
  if (r->from == NULL || r->to == NULL) {
    rename_free(r);
    return fail(env, "finishUpload: paths must be strings without NUL");
  }
  if (!queue_job(env, r, "fileupload:finish", argv[4], finish_execute, finish_complete)) rename_free(r);
  return NULL;
}

static napi_value dup_fd(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || !get_fd(env, argv[0], &fd))
    return fail(env, "dup(fd): fd must be an integer >= 0");
  int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) {
    napi_throw_error(env, NULL, strerror(errno));
    return NULL;
  }
  napi_value result;
  napi_create_int32(env, copy, &result);
  return result;
}

/* scanDir: at most this many entries, and heads of at most this size, per call (a call's buffer
 * stays a few MiB at most). */
#define SCAN_MAX_COUNT 4096
#define SCAN_MAX_HEAD 65536
#define SCAN_NAME_BYTES 256
#define SCAN_ENTRY_HEAD (8 + SCAN_NAME_BYTES)
/* A getdents64 record of a 255-byte name: 19 bytes of fields, the name and its NUL, 8-aligned. */
#define SCAN_LARGEST_ENTRY 280

static pthread_mutex_t getdents_lock = PTHREAD_MUTEX_INITIALIZER;

struct linux_dirent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

typedef struct {
  job_t job;
  int fd;
  uint32_t max;
  uint32_t head;
  char *out; /* the JS buffer's memory */
  napi_ref out_ref;
  uint32_t count;
  int end;
  int err;
} scan_t;

static void scan_read_one(int dfd, const char *name, char *slot, uint32_t head) {
  int32_t r;
  int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) r = -errno;
  else {
    ssize_t n;
    do n = pread(fd, slot + SCAN_ENTRY_HEAD, head, 0);
    while (n < 0 && errno == EINTR);
    r = n >= 0 ? (int32_t)n : -errno;
    close(fd);
  }
  memcpy(slot, &r, 4);
}

static void scan_execute(napi_env env, void *data) {
  scan_t *s = data;
  (void)env;
  size_t stride = SCAN_ENTRY_HEAD + (size_t)s->head;
  /* Entries take 24 to 280 bytes: a buffer of (max - count) * 24 bytes never returns more
   * entries than there is room for, so none is read and then dropped; and one smaller than the
   * largest entry could fail (EINVAL), so the job ends before that. */
  char names[32768] __attribute__((aligned(8)));
  while ((size_t)(s->max - s->count) * 24 >= SCAN_LARGEST_ENTRY) {
    size_t room = (size_t)(s->max - s->count) * 24;
    /* One getdents64 at a time: before Linux 6.5 the kernel serialises calls on one open
     * directory only when the descriptor is shared (file_count > 1), so two jobs of this process
     * could read the same position and list entries twice or skip some. */
    pthread_mutex_lock(&getdents_lock);
    long n = syscall(SYS_getdents64, s->fd, names, room < sizeof names ? room : sizeof names);
    int saved = errno;
    pthread_mutex_unlock(&getdents_lock);
    errno = saved;
    if (n < 0) {
      if (errno == EINTR) continue;
      s->err = errno;
      return;
    }
    if (n == 0) {
      s->end = 1;
      return;
    }
    for (long at = 0; at < n;) {
      struct linux_dirent64 *d = (struct linux_dirent64 *)(names + at);
      at += d->d_reclen;
      size_t len = strlen(d->d_name);
      if ((d->d_type != DT_REG && d->d_type != DT_UNKNOWN) || d->d_name[0] == '.' || len >= SCAN_NAME_BYTES) continue;
      char *slot = s->out + (size_t)s->count * stride;
      int32_t l = (int32_t)len;
      memcpy(slot + 4, &l, 4);
      memcpy(slot + 8, d->d_name, len);
      scan_read_one(s->fd, d->d_name, slot, s->head);
      s->count++;
    }
  }
}

static void scan_complete(napi_env env, napi_status status, void *data) {
  scan_t *s = data;
  if (status == napi_cancelled && s->err == 0) s->err = ECANCELED;
  napi_value argv[3];
  int ok = napi_create_int32(env, s->err, &argv[0]) == napi_ok && napi_create_uint32(env, s->count, &argv[1]) == napi_ok &&
           napi_get_boolean(env, s->end != 0, &argv[2]) == napi_ok;
  finish_job(env, &s->job, ok, 3, argv);
  napi_delete_reference(env, s->out_ref);
  free(s);
}

static napi_value scan_dir(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_valuetype type;
  int32_t fd;
  uint32_t max, head;
  bool is_typed;
  napi_typedarray_type array_type;
  size_t out_len;
  void *out;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 5 || !get_fd(env, argv[0], &fd) ||
      napi_get_value_uint32(env, argv[1], &max) != napi_ok || max < 16 || max > SCAN_MAX_COUNT ||
      napi_get_value_uint32(env, argv[2], &head) != napi_ok || head < 8 || head > SCAN_MAX_HEAD ||
      napi_is_typedarray(env, argv[3], &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(env, argv[3], &array_type, &out_len, &out, NULL, NULL) != napi_ok ||
      array_type != napi_uint8_array || napi_typeof(env, argv[4], &type) != napi_ok || type != napi_function)
    return fail(env, "scanDir(dirFd, max, headBytes, out, callback): max from 16 to 4096, headBytes from 8 to 65536, out a Uint8Array");
  if (out_len < (size_t)max * (SCAN_ENTRY_HEAD + head))
    return fail(env, "scanDir: out must hold max * (264 + headBytes) bytes");
  scan_t *s = calloc(1, sizeof *s);
  if (s == NULL) {
    napi_throw_error(env, "ENOMEM", "scanDir: out of memory");
    return NULL;
  }
  s->fd = fd;
  s->max = max;
  s->head = head;
  s->out = out;
  if (napi_create_reference(env, argv[3], 1, &s->out_ref) != napi_ok) {
    free(s);
    napi_throw_error(env, NULL, "scanDir: cannot keep the buffer");
    return NULL;
  }
  if (!queue_job(env, s, "fileupload:scanDir", argv[4], scan_execute, scan_complete)) {
    napi_delete_reference(env, s->out_ref);
    free(s);
  }
  return NULL;
}

/* Heads up to this size are copied on the stack; a larger one (never seen in practice) is malloc'd. */
#define HEAD_ON_STACK 8192

static napi_value send_now(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  int32_t fd;
  int64_t offset, length;
  size_t head_len, body_len;
  bool is_typed;
  napi_typedarray_type type;
  void *body;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 5 || !get_fd(env, argv[0], &fd) ||
      napi_get_value_string_latin1(env, argv[1], NULL, 0, &head_len) != napi_ok ||
      napi_is_typedarray(env, argv[2], &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(env, argv[2], &type, &body_len, &body, NULL, NULL) != napi_ok || type != napi_uint8_array ||
      napi_get_value_int64(env, argv[3], &offset) != napi_ok || napi_get_value_int64(env, argv[4], &length) != napi_ok ||
      offset < 0 || length < 0 || (uint64_t)offset + (uint64_t)length > body_len)
    return fail(env, "sendNow(fd, head, body, offset, length): a descriptor, a string, a Uint8Array and a range inside it");
  char stack[HEAD_ON_STACK];
  char *head = head_len < sizeof stack ? stack : malloc(head_len + 1);
  if (head == NULL) {
    napi_throw_error(env, "ENOMEM", "sendNow: out of memory");
    return NULL;
  }
  napi_get_value_string_latin1(env, argv[1], head, head_len + 1, &head_len);
  struct iovec iov[2] = {{head, head_len}, {(char *)body + offset, (size_t)length}};
  struct msghdr msg = {0};
  msg.msg_iov = iov;
  msg.msg_iovlen = 2;
  ssize_t n;
  do n = sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  /* ENOBUFS is passing, as libuv treats it: nothing was taken, Node's path retries. */
  int64_t result = n >= 0 ? n : (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) ? 0 : -errno;
  if (head != stack) free(head);
  napi_value out;
  napi_create_int64(env, result, &out);
  return out;
}

NAPI_MODULE_INIT() {
  napi_value step, dup, max, rename, splice_fn, now, finish, wait, stop, low, scan;
  if (napi_create_function(env, "sendfileStep", NAPI_AUTO_LENGTH, sendfile_step, NULL, &step) != napi_ok ||
      napi_create_function(env, "spliceStep", NAPI_AUTO_LENGTH, splice_step, NULL, &splice_fn) != napi_ok ||
      napi_set_named_property(env, exports, "spliceStep", splice_fn) != napi_ok ||
      napi_create_function(env, "waitReadable", NAPI_AUTO_LENGTH, wait_readable, NULL, &wait) != napi_ok ||
      napi_set_named_property(env, exports, "waitReadable", wait) != napi_ok ||
      napi_create_function(env, "stopWaiting", NAPI_AUTO_LENGTH, stop_waiting, NULL, &stop) != napi_ok ||
      napi_set_named_property(env, exports, "stopWaiting", stop) != napi_ok ||
      napi_create_function(env, "setLowWater", NAPI_AUTO_LENGTH, set_low_water, NULL, &low) != napi_ok ||
      napi_set_named_property(env, exports, "setLowWater", low) != napi_ok ||
      napi_create_function(env, "renameNoReplace", NAPI_AUTO_LENGTH, rename_no_replace, NULL, &rename) != napi_ok ||
      napi_set_named_property(env, exports, "renameNoReplace", rename) != napi_ok ||
      napi_create_function(env, "finishUpload", NAPI_AUTO_LENGTH, finish_upload, NULL, &finish) != napi_ok ||
      napi_set_named_property(env, exports, "finishUpload", finish) != napi_ok ||
      napi_create_function(env, "scanDir", NAPI_AUTO_LENGTH, scan_dir, NULL, &scan) != napi_ok ||
      napi_set_named_property(env, exports, "scanDir", scan) != napi_ok ||
      napi_create_function(env, "dup", NAPI_AUTO_LENGTH, dup_fd, NULL, &dup) != napi_ok ||
      napi_create_int32(env, MAX_STEP, &max) != napi_ok ||
      napi_set_named_property(env, exports, "sendfileStep", step) != napi_ok ||
      napi_set_named_property(env, exports, "dup", dup) != napi_ok ||
      napi_create_function(env, "sendNow", NAPI_AUTO_LENGTH, send_now, NULL, &now) != napi_ok ||
      napi_set_named_property(env, exports, "sendNow", now) != napi_ok ||
      napi_set_named_property(env, exports, "maxStep", max) != napi_ok)
    return NULL;
  return exports;
}
