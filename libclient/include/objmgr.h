/*
 * objmgr.h — the libobjmgr client API.
 *
 * objmgr is Python's multiprocessing.Manager for C: one server process,
 * objmgrd, owns shared objects; programs hold proxy handles and call their
 * methods over a Unix socket (or TCP, with a key). Every mutation happens inside the server under
 * the object's lock, so every process sees one consistent state.
 *
 * This header is the contract. Anything not declared here is not API.
 *
 * Conventions (README.md shows them at work; docs/DESIGN.md says how the
 * library and the server implement them):
 * - Every call returns int: OM_OK (0), a negative OM_E* error, or, only where
 *   stated, a positive warning that still means success. rc < 0 is failure.
 * - Outputs go through pointer arguments owned by the caller. They are
 *   written only on success.
 * - Items passed in are borrowed (the library copies what it keeps). Items
 *   handed out own their memory: free them with om_item_free() /
 *   om_items_free().
 * - Blocking calls take `double timeout` in seconds: OM_FOREVER (negative)
 *   waits without limit, 0 tries once, > 0 waits at most that long.
 * - An om_client is used by one thread at a time.
 * - fork(): a child keeps using every client and handle inherited from its
 *   parent. On its first call the child opens its own connection, which
 *   takes over what the parent held at the fork; it never writes to, or
 *   shuts down, the parent's connection. There is no window: everything
 *   the parent held when it forked is held for the child until the child's
 *   session takes it over or the child exits, so the parent may release a
 *   handle right after fork(). Each fork() costs one round trip per open
 *   client. A fork() while another thread is inside a call on one of this
 *   process's clients skips that client (nothing is held for the child
 *   through it, and the child must not use it: the call is the parent's
 *   thread's); the other clients work in the child as above.
 */
#ifndef OBJMGR_H
#define OBJMGR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(OM_BUILDING) && defined(__GNUC__)
#define OM_EXPORT __attribute__((visibility("default")))
#else
#define OM_EXPORT
#endif

/* ---------------------------------------------------------------- errors */

/*
 * The one error table: X(NAME, code, message). It generates the OM_E*
 * constants here, om_strerror() in the library, and (checked at compile
 * time) the wire protocol's Status numbers, which are the negated codes.
 */
#define OM_ERRNO_MAP(X)                                                        \
	X(ENOKEY, -1, "key not found")                                         \
	X(EINDEX, -2, "index out of range")                                    \
	X(EVALUE, -3, "bad or missing value")                                  \
	X(ETYPE, -4, "wrong type")                                             \
	X(EEMPTY, -5, "queue empty")                                           \
	X(EFULL, -6, "queue full")                                             \
	X(ETIMEOUT, -7, "timed out")                                           \
	X(EBROKEN, -8, "barrier broken")                                       \
	X(ENOTOWNER, -9, "lock not held by this client")                       \
	X(ECLOSED, -10, "closed")                                              \
	X(ENOENT, -11, "no such object")                                       \
	X(EEXIST, -12, "object exists")                                        \
	X(ECONN, -13, "connection to the server failed or was lost")           \
	X(EAUTH, -14, "refused: credentials do not match")                     \
	X(EPROTO, -15, "malformed message")                                    \
	X(ETOOBIG, -16, "message or item over the server's limit")             \
	X(ENOMEM, -17, "out of memory")                                        \
	X(EINVAL, -18, "invalid argument")                                     \
	X(ESTOPPING, -19, "the server is stopping")                            \
	X(ELIMIT, -20, "refused: a server limit was reached")                  \
	X(ETASK, -21, "the task failed")

enum {
	OM_OK = 0,
#define OM_X_(name, code, msg) OM_##name = (code),
	OM_ERRNO_MAP(OM_X_)
#undef OM_X_
	/** Success with a warning: the lock was acquired, but its previous
	 *  holder's connection ended while holding it. */
	OM_OWNER_DIED = 1,
};

/**
 * Describe a return code.
 * @return a static string; "unknown error" for a code not in the table.
 */
OM_EXPORT const char *om_strerror(int code);

/* ----------------------------------------------------------------- items */

typedef enum {
	OM_NIL,   /**< None */
	OM_BOOL,  /**< bool */
	OM_INT,   /**< int64_t */
	OM_FLOAT, /**< double */
	OM_STR,   /**< str: bytes compared bytewise; handed out NUL-terminated */
	OM_BYTES, /**< bytes: never equal to a str */
	OM_REF,   /**< a managed object (nested objects) */
} om_kind;

/*
 * The one table of object types: X(NAME, code, stem). It generates om_type
 * here; the server's type registry (stem##_type, defined in server/STEM.c)
 * and the wire protocol's Type numbers (checked at compile time) follow
 * from it. A new type is one row here.
 */
#define OM_TYPE_MAP(X)                                                         \
	X(DICT, 1, dict)                                                       \
	X(LIST, 2, list)                                                       \
	X(QUEUE, 3, queue)                                                     \
	X(LOCK, 4, lock)                                                       \
	X(SEM, 5, sem)                                                         \
	X(COND, 6, cond)                                                       \
	X(EVENT, 7, event)                                                     \
	X(BARRIER, 8, barrier)                                                 \
	X(VALUE, 9, value)                                                     \
	X(ARRAY, 10, array)                                                    \
	X(PIPE, 11, pipe)                                                      \
	X(POOL, 12, pool)

/** Object types: the `type` of an OM_REF item. */
typedef enum {
#define OM_X_(NAME, code, stem) OM_TYPE_##NAME = (code),
	OM_TYPE_MAP(OM_X_)
#undef OM_X_
} om_type;

/** A value. Build with the constructors below; read by `kind`. */
typedef struct om_item {
	om_kind kind;
	union {
		bool b;
		int64_t i;
		double f;
		struct {
			const char *ptr;
			size_t len;
		} s; /**< OM_STR and OM_BYTES */
		struct {
			uint64_t id;
			int type; /**< an om_type */
		} ref;
	};
} om_item;

/** A list of items handed out by the library: free with om_items_free(). */
typedef struct om_items {
	om_item *v;
	size_t n;
} om_items;

/** Item constructors. They do not copy: the item borrows `p`/`cstr`. */
OM_EXPORT om_item om_nil(void);
OM_EXPORT om_item om_bool(bool b);
OM_EXPORT om_item om_int(int64_t i);
OM_EXPORT om_item om_float(double f);
/** A str item of strlen(cstr) bytes (cstr NULL: the empty string). */
OM_EXPORT om_item om_str(const char *cstr);
/** A str item of n bytes (may contain NULs). */
OM_EXPORT om_item om_strn(const char *p, size_t n);
/** A bytes item of n bytes. */
OM_EXPORT om_item om_bytes(const void *p, size_t n);
/** An item referring to the object behind any proxy handle; an OM_NIL item
 *  if the handle is not valid. Storing it keeps the object alive. */
OM_EXPORT om_item om_ref(const void *handle);

/** Free an item handed out by the library and set it to OM_NIL. NULL is ok.
 *  Never call it on an item you built (it does not own its bytes). */
OM_EXPORT void om_item_free(om_item *it);
/** Free a list handed out by the library and set it to empty. NULL is ok. */
OM_EXPORT void om_items_free(om_items *items);

/**
 * Python equality: numbers compare by value across kinds (1 == 1.0 ==
 * true), 0.0 == -0.0, NaN equals nothing; str and bytes compare bytewise and
 * are never equal to each other; refs are equal when they name one object.
 */
OM_EXPORT bool om_item_eq(const om_item *a, const om_item *b);

/* ------------------------------------------------------------ connecting */

typedef struct om_client om_client;

/**
 * Connect to a server.
 * @param address a socket path, "unix:PATH", "tcp:HOST:PORT" (with a key:
 *        see om_connect_key), or NULL for the default:
 *        $OBJMGR_ADDRESS, else $XDG_RUNTIME_DIR/objmgr.sock, else
 *        /tmp/objmgr-$UID/objmgr.sock (objmgrd resolves the same default).
 * @param out the new client, to be ended with om_disconnect().
 * @return OM_OK; OM_ECONN if no server answers there (over TCP: within
 *         10 s); OM_EAUTH if the server refuses this process's credentials; OM_ELIMIT if it is at a
 *         limit (--max-connections, or out of file descriptors); OM_EPROTO
 *         on a version mismatch; OM_EINVAL for a bad address; OM_ENOMEM.
 *         On failure om_errmsg(NULL) says why, in the server's words when
 *         it refused.
 */
OM_EXPORT int om_connect(const char *address, om_client **out);

/**
 * om_connect() with a shared key: Python's BaseManager(address, authkey).
 * A TCP address ("tcp:HOST:PORT", "tcp:[::1]:PORT"; HOST a name or a
 * literal address) needs the key: before the Hello, each side proves that
 * it holds the key with HMAC-SHA256 over a fresh random challenge from the
 * other, and only then are requests sent. A Unix-socket address ignores the
 * key (the server checks the peer's uid instead). om_connect() on a TCP
 * address reads the key from the file $OBJMGR_AUTHKEY_FILE: its bytes less
 * one trailing newline, refused (OM_EAUTH) unless the file is mode 0600 or
 * stricter. The key is copied: a forked child of this process reconnects
 * with it.
 *
 * A remote client (one on TCP) uses the RPC path of every object: it maps
 * no shared memory, and sees the same state as the local clients that do.
 * TCP is authenticated, not encrypted: tunnel it (ssh -L, WireGuard) where
 * the network is not trusted.
 * @return as om_connect(); OM_EAUTH if the server does not accept the key,
 *         if it fails to prove that it holds it, or if there is no key for
 *         a TCP address (or its key file is refused: om_errmsg says
 *         why); OM_EINVAL if keylen is 0 or over 64 KiB with a non-NULL
 *         key.
 */
OM_EXPORT int om_connect_key(const char *address, const void *key,
                             size_t keylen, om_client **out);

/**
 * Start a private objmgrd and connect to it: Python's Manager(). The server
 * binary is $OBJMGR_SERVER, else the one built beside this library, else the
 * installed one, else "objmgrd" on $PATH. It listens on `address`, or with
 * NULL on a fresh socket in a new private directory. The server ends when
 * this process calls om_shutdown() or om_disconnect() on the client, or
 * dies. Forked children may use the client; their om_disconnect() does not
 * stop the server.
 * A spawned server is private: it listens on a Unix socket only, and a
 * "tcp:" address is OM_EINVAL (run objmgrd --listen for a remote manager).
 * @return OM_OK; OM_ECONN if the server could not be started; OM_EINVAL
 *         for a bad or a TCP address; OM_ENOMEM.
 */
OM_EXPORT int om_spawn(const char *address, om_client **out);

/**
 * Ask the server to stop. Parked calls of other clients are answered with
 * OM_ESTOPPING. If this process spawned the server, waits for it to exit.
 * The client stays allocated: end it with om_disconnect().
 * @return OM_OK, or OM_ECONN.
 */
OM_EXPORT int om_shutdown(om_client *c);

/**
 * Close the connection and free the client and every handle it handed out
 * (the server drops this connection's references). For a client from
 * om_spawn() in the spawning process, the server is stopped too. In a
 * forked child it also ends what is held for the child through this
 * client since the fork, used or not (a pipe end it inherited is let go
 * of). NULL is ok.
 */
OM_EXPORT void om_disconnect(om_client *c);

/** Round trip to the server. @return OM_OK or OM_ECONN. */
OM_EXPORT int om_ping(om_client *c);

/** Server statistics. */
/*
 * The server's statistics, one table: X(name, meaning). It generates
 * om_server_stats here and, on the server, the STATS answer (its results,
 * in this order) and the counters behind it.
 */
#define OM_STATS_MAP(X)                                                        \
	X(objects, "objects alive")                                            \
	X(connections, "connections open (this one included)")                 \
	X(bytes, "bytes held by stored items")                                 \
	X(requests, "requests served since start")                             \
	X(parked, "requests waiting in blocking calls now")                    \
	X(buffered, "bytes of connections' input and output buffers")          \
	X(segments, "shared-memory segments (memfd) alive")                    \
	X(mapped, "bytes of shared-memory segments mapped by the server")

typedef struct om_server_stats {
#define OM_X_(name, meaning) uint64_t name; /**< meaning */
	OM_STATS_MAP(OM_X_)
#undef OM_X_
} om_server_stats;

/** Fill `out` with the server's statistics. @return OM_OK or OM_ECONN. */
OM_EXPORT int om_stats(om_client *c, om_server_stats *out);

/* ----------------------------------------------------- looking inside */

/*
 * What `objmgr` (redis-cli for objmgr) shows: the named objects, the
 * connections, the server's INFO, any object's whole state, and two kinds
 * of subscription, to an object's changes (watch) and to every request
 * served (monitor). Any client may ask.
 */

/** A named object, as om_objects() lists it. */
typedef struct om_object_info {
	char *name;      /**< its name (NUL-terminated; names hold no NUL) */
	int type;        /**< an om_type */
	uint64_t id;     /**< the id in its refs (om_ref(handle).ref.id) */
	uint64_t length; /**< len(): items of a dict, list, queue or array,
	                  *   messages waiting at a pipe end, tasks queued in a
	                  *   pool; 0 for the other types */
	uint64_t bytes;  /**< the bytes it holds, as om_stats() counts them
	                  *   (its items, its arrays, its segment) */
	uint64_t refs;   /**< references on it: each session holding handles,
	                  *   each stored ref, each watcher, the name */
} om_object_info;

/**
 * The named objects whose names match the shell glob `pattern` (fnmatch(3),
 * no flags; NULL or "*" for all), sorted by name. *out is one allocation
 * (the names inside it): free it with free(). Objects come and go while the
 * list is gathered in pages; each appears at most once.
 * @return OM_OK, OM_ECONN, OM_ENOMEM.
 */
OM_EXPORT int om_objects(om_client *c, const char *pattern,
                         om_object_info **out, size_t *n);

/** om_client_info.flags */
enum {
	OM_CLIENT_SELF = 1,    /**< the connection that asked */
	OM_CLIENT_WATCH = 2,   /**< subscribed with om_watch() */
	OM_CLIENT_MONITOR = 4, /**< subscribed with om_monitor() */
	OM_CLIENT_TCP = 8,     /**< a remote client (TCP) */
};

/** A connection, as om_clients() lists it. */
typedef struct om_client_info {
	uint64_t id;       /**< connection number (1, 2, ... since start) */
	int64_t pid;       /**< the peer's pid: from the kernel on a Unix
	                    *   socket, as the client said in its Hello over
	                    *   TCP (0: not said) */
	int64_t uid;       /**< the peer's uid; -1 over TCP */
	double since;      /**< when it connected, seconds since the epoch */
	uint64_t refs;     /**< objects it holds references on */
	uint64_t locks;    /**< locks, rlocks and conditions' locks it holds */
	uint64_t parked;   /**< its calls waiting in the server now */
	uint64_t requests; /**< requests it sent */
	unsigned flags;    /**< OM_CLIENT_* */
	char addr[64];     /**< "unix", or "tcp:HOST:PORT" of the peer */
} om_client_info;

/**
 * Every connection open, in the order they connected. *out is one
 * allocation: free it with free().
 * @return OM_OK, OM_ECONN, OM_ENOMEM.
 */
OM_EXPORT int om_clients(om_client *c, om_client_info **out, size_t *n);

/**
 * The server's INFO, as Redis has it: pairs of a str key and its value
 * (an int, a float or a str), in a fixed order: "version", "pid",
 * "uptime", "connections", "objects", "objects.TYPE" (one per type, by
 * Python's name: "objects.dict"), "bytes", "max_memory", "buffered",
 * "requests", "requests.OP" (one per operation served at least once, by
 * the Op name of objmgr.proto: "requests.DICT_SET"), "parked", "segments",
 * "mapped", "listen" (one per address it listens on), and more after.
 * Free both with om_items_free().
 * @return OM_OK, OM_ECONN, OM_ENOMEM.
 */
OM_EXPORT int om_info(om_client *c, om_items *keys, om_items *values);

/**
 * The server's message for this client's last failed call ("" if none).
 * Valid until the next call on `c`. With c NULL: why the calling thread's
 * last failed om_connect() (or om_spawn()) failed — the server's own words
 * when it refused ("" if none failed yet).
 */
OM_EXPORT const char *om_errmsg(const om_client *c);

/* ------------------------------------------------------------ pipelining */

/**
 * Start a pipeline on c: the calls made on c (and on its handles) until
 * om_pipeline_end() are queued instead of waited for. Each returns OM_OK
 * at once (or an error it can see without the server, such as OM_EINVAL);
 * its outputs are not written yet. A call that fails at once is not
 * queued: it has no place in om_pipeline_end()'s rcs and does not count in
 * its result. Arguments are copied when the call is made; output pointers
 * must stay valid until om_pipeline_end(). The requests go out in as few
 * writes as possible (a long pipeline is written in parts as it grows,
 * reading answers meanwhile; they are kept until om_pipeline_end()).
 *
 * Every object call may be pipelined, blocking ones included, and so may
 * om_ping(), om_stats(), om_unlink() and om_release() (the handle is
 * invalid at once; its RELEASE is queued and has no place in rcs). Calls
 * that need their answer at once are refused with OM_EINVAL (and a message
 * in om_errmsg()): opening objects (om_*_open, om_open_ref) and
 * om_shutdown(). om_disconnect() drops a pipeline still open: its outputs
 * are never written. A pipeline belongs to the process that began it: a
 * forked child's calls on an inherited client are not part of the
 * parent's pipeline (the child may begin its own).
 * @return OM_OK; OM_EINVAL if c is NULL or already in a pipeline.
 */
OM_EXPORT int om_pipeline_begin(om_client *c);

/**
 * Send what is queued, wait for every answer, and fill in each call's
 * outputs (the pointer arguments given to it, which must stay valid until
 * now) as its answer arrives. Blocking calls in a pipeline are allowed:
 * they are answered as they complete, in any order, and this waits for
 * them. rcs (may be NULL) gets each queued call's return code, in call
 * order, for the first n calls. The pipeline is over when this returns,
 * whatever it returns; om_errmsg() tells about the first failed call (or
 * the lost connection).
 * @return OM_OK if every call succeeded (rc >= 0), else the first failing
 *         call's code; OM_EINVAL if no pipeline was begun; OM_ECONN if the
 *         connection was lost (calls without an answer get OM_ECONN; calls
 *         answered before that keep their codes and outputs).
 */
OM_EXPORT int om_pipeline_end(om_client *c, int *rcs, size_t n);

/* --------------------------------------------------------------- objects */

typedef struct om_dict om_dict;
typedef struct om_list om_list;
typedef struct om_value om_value;
typedef struct om_array om_array;
typedef struct om_queue om_queue;
typedef struct om_lock om_lock;
typedef struct om_sem om_sem;
typedef struct om_cond om_cond;
typedef struct om_event om_event;
typedef struct om_barrier om_barrier;

/* Flags for the *_open calls: bit sets, 0 means none. */
#define OM_CREATE 0x01    /**< create the named object if it does not exist */
#define OM_EXCL 0x02      /**< with OM_CREATE: OM_EEXIST if it exists */
#define OM_LIFO 0x04      /**< queue: last in, first out */
#define OM_PRIORITY 0x08  /**< queue: lowest priority first */
#define OM_JOINABLE 0x10  /**< queue: task_done/join */
#define OM_RECURSIVE 0x20 /**< lock: RLock */
#define OM_BOUNDED 0x40   /**< semaphore: BoundedSemaphore */
#define OM_SIMPLEX 0x80   /**< pipe: Pipe(duplex=False) */

/** Wait without limit. */
#define OM_FOREVER (-1.0)

/*
 * Opening objects. name == NULL creates a new anonymous object that lives
 * while a handle (or a stored OM_REF) refers to it. With a name, the object
 * is opened if it exists (OM_ENOENT if not, unless OM_CREATE is given, which
 * creates it; OM_CREATE|OM_EXCL fails with OM_EEXIST if it exists); a named
 * object lives until om_unlink(). Opening an existing object of another type
 * is OM_ETYPE. Creation parameters are used only when the call creates.
 * A name is 1 to OM_NAME_MAX bytes of valid UTF-8, compared bytewise.
 * Every handle handed out is given back with om_release().
 * Common returns: OM_OK, OM_ENOENT, OM_EEXIST, OM_ETYPE, OM_EINVAL (bad
 * flags or parameters; an empty name, one too long or not UTF-8), OM_ECONN,
 * OM_ENOMEM.
 */
#define OM_NAME_MAX 1024

/** Open a dict (insertion-ordered, Python key equality). */
OM_EXPORT int om_dict_open(om_client *c, const char *name, int flags,
                           om_dict **out);
/** Open a list. */
OM_EXPORT int om_list_open(om_client *c, const char *name, int flags,
                           om_list **out);
/** Open a value holding one item; `initial` is its first value. */
OM_EXPORT int om_value_open(om_client *c, const char *name, int flags,
                            om_item initial, om_value **out);
/** Open a fixed-length typed array, zero-filled; kind is OM_INT or
 *  OM_FLOAT (OM_EINVAL otherwise). */
OM_EXPORT int om_array_open(om_client *c, const char *name, int flags,
                            om_kind kind, size_t length, om_array **out);

/** Open a queue. flags: OM_LIFO or OM_PRIORITY (default FIFO), and
 *  OM_JOINABLE for task_done/join. maxsize 0 = unbounded. */
OM_EXPORT int om_queue_open(om_client *c, const char *name, int flags,
                            size_t maxsize, om_queue **out);
/** Open a lock; OM_RECURSIVE makes it an RLock. */
OM_EXPORT int om_lock_open(om_client *c, const char *name, int flags,
                           om_lock **out);
/** Open a semaphore with `initial` permits; OM_BOUNDED: releasing above
 *  the initial value is OM_EVALUE. */
OM_EXPORT int om_sem_open(om_client *c, const char *name, int flags,
                          unsigned initial, om_sem **out);
/** Open a condition variable over `lock` (NULL: a lock of its own, which
 *  OM_RECURSIVE makes an RLock as Python's Condition() default is;
 *  OM_RECURSIVE with a given lock is OM_EINVAL). */
OM_EXPORT int om_cond_open(om_client *c, const char *name, int flags,
                           om_lock *lock, om_cond **out);
/** Open an event (initially clear). */
OM_EXPORT int om_event_open(om_client *c, const char *name, int flags,
                            om_event **out);
/** Open a barrier for `parties` (>= 1, else OM_EINVAL) processes. */
OM_EXPORT int om_barrier_open(om_client *c, const char *name, int flags,
                              unsigned parties, om_barrier **out);

/**
 * Remove a name. The object lives on while handles or stored refs refer to
 * it, then dies. @return OM_OK, or OM_ENOENT if no object has that name.
 */
OM_EXPORT int om_unlink(om_client *c, const char *name);

/**
 * A new handle on the object an OM_REF item names (for instance one read
 * out of a dict). Cast *out to the handle type of ref->ref.type.
 * An OM_REF taken out of a container (om_dict_pop, om_list_pop,
 * om_queue_get, ...) keeps its object alive for this client until a handle
 * is opened on it with this call (the handle then holds it, and
 * om_release() lets it go) or the client disconnects.
 * @return OM_OK; OM_EINVAL if `ref` is not an OM_REF; OM_ENOENT if the
 *         object is gone.
 */
OM_EXPORT int om_open_ref(om_client *c, const om_item *ref, void **out);

/**
 * Open the existing object named `name`, whatever its type: a handle of
 * that type (om_ref(*out).ref.type says which), given back with
 * om_release(). This is how a tool that does not know a name's type opens
 * it (objmgr get NAME).
 * @return OM_OK, OM_ENOENT, OM_EINVAL (a bad name), OM_ECONN, OM_ENOMEM.
 */
OM_EXPORT int om_open_any(om_client *c, const char *name, void **out);

/**
 * The whole state of the object behind any handle, as items, by type:
 * - dict: key, value, key, value, ... in insertion order;
 * - list, array: the items; queue: the items in the order gets take them;
 * - value: the value;
 * - lock, rlock: the holder's connection number (0: free), the recursion
 *   level (0: free);
 * - semaphore: the value; event: a bool, set or not;
 * - condition: the ref of its lock (nil for a lock of its own), the
 *   number of waiters, and with a lock of its own that lock's holder and
 *   recursion level (as a lock's);
 * - barrier: parties, waiting, a bool broken;
 * - pipe end: the messages waiting at it (each an item), then a bool, the
 *   other end open;
 * - pool: as om_pool_info(): processes, workers, queued, running, closed.
 * Stored refs are refs (open them with om_open_ref to go deeper). A
 * mapped object's state is read as it is in its shared memory. Free *out
 * with om_items_free().
 * @return OM_OK, OM_EINVAL (not a valid handle), OM_ETOOBIG (over the
 *         server's frame limit), OM_ECONN, OM_ENOMEM.
 */
OM_EXPORT int om_dump(const void *handle, om_items *out);

/** What a subscription receives (om_notice_next): one change of a watched
 *  object, or one request a monitor sees. (Not an om_event: that is the
 *  Event object's handle.) */
typedef struct om_notice {
	double time;     /**< when the server served it, seconds since the
	                  *   epoch */
	uint64_t client; /**< the connection number that made it (0: the
	                  *   server itself, or a mapped client's write in
	                  *   shared memory, whose maker is not known) */
	uint64_t target; /**< the object's id (0: a server-level request) */
	int type;        /**< its om_type (0: none) */
	char op[32];     /**< the Op name in objmgr.proto ("DICT_SET"), or
	                  *   "MAPPED" for a write in shared memory, "GONE"
	                  *   for a session's end that released something */
	char name[OM_NAME_MAX + 1]; /**< the object's name ("" if none) */
} om_notice;

/**
 * Subscribe c to the changes of the object behind `handle` (a handle of
 * c): each request that changes it (served, by any client), each write a
 * mapped client makes in its shared memory, and each session's end that
 * releases something of it is sent to c as an event, without polling. c
 * becomes a subscriber: from then on it may only om_watch() more objects,
 * om_notice_next() and om_disconnect() (other calls are OM_EINVAL). The
 * watch keeps the object alive while c is connected.
 * @return OM_OK, OM_EINVAL, OM_ECONN, OM_ENOMEM.
 */
OM_EXPORT int om_watch(const void *handle);

/**
 * Subscribe c to every request the server serves, from every client: each
 * is sent to c as an event (op, client, target) as it arrives, before it
 * is served. c becomes a subscriber (see om_watch()). Calls a mapped client
 * makes in shared memory are not requests, and are not seen.
 * @return OM_OK, OM_ECONN, OM_ENOMEM.
 */
OM_EXPORT int om_monitor(om_client *c);

/**
 * Wait for a subscriber's next event.
 * @return OM_OK; OM_ETIMEOUT; OM_ELIMIT when the server dropped c for not
 *         keeping up (its unread events reached the server's bound: the
 *         message says so) — c is then disconnected; OM_ECONN;
 *         OM_EINVAL if c is not a subscriber.
 */
OM_EXPORT int om_notice_next(om_client *c, om_notice *ev, double timeout);

/**
 * Give back any proxy handle. The server drops this handle's reference; a
 * released handle is invalid (calls on it return OM_EINVAL). NULL is ok.
 * In a forked child, a handle inherited and not used there yet is first
 * taken over (as its first call would: the child's own connection and
 * reference), so that the object is let go of now rather than when the
 * child exits — a child that closes its copy of its parent's pipe end
 * lets the parent see EOF.
 */
OM_EXPORT void om_release(void *handle);

/* ------------------------------------------------------------------ dict */

/** d[key] = val. */
OM_EXPORT int om_dict_set(om_dict *d, om_item key, om_item val);
/** *out = d[key]. @return OM_OK or OM_ENOKEY. */
OM_EXPORT int om_dict_get(om_dict *d, om_item key, om_item *out);
/** del d[key]. @return OM_OK or OM_ENOKEY. */
OM_EXPORT int om_dict_del(om_dict *d, om_item key);
/** *out = d.pop(key). @return OM_OK or OM_ENOKEY. */
OM_EXPORT int om_dict_pop(om_dict *d, om_item key, om_item *out);
/** Remove the last inserted pair. @return OM_OK or OM_ENOKEY when empty. */
OM_EXPORT int om_dict_popitem(om_dict *d, om_item *key, om_item *val);
/** *out = d.setdefault(key, dflt) (out may be NULL). */
OM_EXPORT int om_dict_setdefault(om_dict *d, om_item key, om_item dflt,
                                 om_item *out);
/** *out = key in d. */
OM_EXPORT int om_dict_contains(om_dict *d, om_item key, bool *out);
/** *out = len(d). */
OM_EXPORT int om_dict_len(om_dict *d, size_t *out);
/** The keys, in insertion order. */
OM_EXPORT int om_dict_keys(om_dict *d, om_items *out);
/** The values, in insertion order. */
OM_EXPORT int om_dict_values(om_dict *d, om_items *out);
/** Keys and values, in insertion order (keys->v[i] maps to values->v[i]). */
OM_EXPORT int om_dict_items(om_dict *d, om_items *keys, om_items *values);
/** d.update(zip(keys, values)), atomically. */
OM_EXPORT int om_dict_update(om_dict *d, const om_item *keys,
                             const om_item *values, size_t n);
/** d.clear(). */
OM_EXPORT int om_dict_clear(om_dict *d);
/** Look up n keys in one round trip: values->v[i] is d[keys[i]], or an
 *  OM_NIL item where the key is missing; *found (may be NULL) counts the
 *  keys present. */
OM_EXPORT int om_dict_get_many(om_dict *d, const om_item *keys, size_t n,
                               om_items *values, size_t *found);
/**
 * Atomic d[key] += delta; a missing key counts as 0. int + int stays int
 * (OM_EVALUE on overflow), int + float is a float. *out (may be NULL) gets
 * the new value. @return OM_OK; OM_ETYPE if the value or delta is not a
 * number (nothing changes).
 */
OM_EXPORT int om_dict_incr(om_dict *d, om_item key, om_item delta,
                           om_item *out);

/* ------------------------------------------------------------------ list */

/*
 * Indexes are int64_t with Python's rules: negative counts from the end;
 * get/set/del/pop out of range is OM_EINDEX; slice bounds clamp; insert
 * clamps.
 */

/** l.append(it). */
OM_EXPORT int om_list_append(om_list *l, om_item it);
/** l.extend(items). */
OM_EXPORT int om_list_extend(om_list *l, const om_item *items, size_t n);
/** l.insert(i, it). */
OM_EXPORT int om_list_insert(om_list *l, int64_t i, om_item it);
/** *out = l[i]. @return OM_OK or OM_EINDEX. */
OM_EXPORT int om_list_get(om_list *l, int64_t i, om_item *out);
/** l[i] = it. @return OM_OK or OM_EINDEX. */
OM_EXPORT int om_list_set(om_list *l, int64_t i, om_item it);
/** del l[i]. @return OM_OK or OM_EINDEX. */
OM_EXPORT int om_list_del(om_list *l, int64_t i);
/** *out = l.pop(i) (out may be NULL). @return OM_OK or OM_EINDEX. */
OM_EXPORT int om_list_pop(om_list *l, int64_t i, om_item *out);
/** l.remove(it). @return OM_OK or OM_EVALUE if absent. */
OM_EXPORT int om_list_remove(om_list *l, om_item it);
/** *pos = l.index(it). @return OM_OK or OM_EVALUE if absent. */
OM_EXPORT int om_list_index(om_list *l, om_item it, int64_t *pos);
/** *n = l.count(it). */
OM_EXPORT int om_list_count(om_list *l, om_item it, size_t *n);
/** *out = it in l. */
OM_EXPORT int om_list_contains(om_list *l, om_item it, bool *out);
/** *n = len(l). */
OM_EXPORT int om_list_len(om_list *l, size_t *n);
/** l.clear(). */
OM_EXPORT int om_list_clear(om_list *l);
/** l.reverse(). */
OM_EXPORT int om_list_reverse(om_list *l);
/** l.sort(reverse=reverse), stable. @return OM_OK; OM_ETYPE if two items
 *  cannot be ordered (the list is left unchanged). */
OM_EXPORT int om_list_sort(om_list *l, bool reverse);
/** *out = l[start:stop]. */
OM_EXPORT int om_list_slice(om_list *l, int64_t start, int64_t stop,
                            om_items *out);
/** l[start:stop] = items (n = 0 deletes the slice). */
OM_EXPORT int om_list_splice(om_list *l, int64_t start, int64_t stop,
                             const om_item *items, size_t n);

/* ----------------------------------------------------------------- value */

/** *out = the value. */
OM_EXPORT int om_value_get(om_value *v, om_item *out);
/** Set the value. */
OM_EXPORT int om_value_set(om_value *v, om_item it);
/** Atomic v += delta (rules of om_dict_incr); *out (may be NULL) gets the
 *  new value. @return OM_OK, OM_ETYPE, or OM_EVALUE on int64 overflow
 *  (nothing changes). */
OM_EXPORT int om_value_add(om_value *v, om_item delta, om_item *out);
/** Atomic compare-and-swap: if v == expected (Python equality) set it to
 *  desired. *swapped tells whether it did (may be NULL). */
OM_EXPORT int om_value_cas(om_value *v, om_item expected, om_item desired,
                           bool *swapped);

/* ----------------------------------------------------------------- array */

/*
 * A fixed-length array of ints or floats. Positions past the end are
 * OM_EINDEX; an item of the wrong kind (a float into an int array, a
 * non-number) is OM_ETYPE; an int written into a float array is
 * converted. Nothing changes on error. Single elements are loaded and
 * stored atomically; a range read or write holds the array's lock
 * (om_array_lock) while it runs.
 */

/** *out = a[i]. */
OM_EXPORT int om_array_get(om_array *a, size_t i, om_item *out);
/** a[i] = it. */
OM_EXPORT int om_array_set(om_array *a, size_t i, om_item it);
/** Atomic a[i] += delta; *out (may be NULL) gets the new value. */
OM_EXPORT int om_array_add(om_array *a, size_t i, om_item delta,
                           om_item *out);
/** *n = len(a). */
OM_EXPORT int om_array_len(om_array *a, size_t *n);
/** *out = a[start:start+n], consistent against om_array_write() and
 *  om_array_lock() holders (it waits while another client holds the
 *  array's lock). @return OM_EINDEX if it runs past the end. */
OM_EXPORT int om_array_read(om_array *a, size_t start, size_t n,
                            om_items *out);
/** a[start:start+n] = items, atomically (by the server, under the array's
 *  lock, also for a client that maps the array: it waits while another
 *  client holds the lock). @return OM_EINDEX if it runs past the end,
 *  OM_ETYPE for an item of the wrong kind. */
OM_EXPORT int om_array_write(om_array *a, size_t start, const om_item *items,
                             size_t n);

/*
 * Shared memory. A client on the server's machine (a Unix socket, and
 * OBJMGR_SHM not "0" in its environment when om_connect() runs) maps the
 * state of arrays, values holding a number or a bool, locks, semaphores
 * and events when it opens them, and runs their calls in its own address
 * space with no round trip; the server keeps owning names, lifetimes and
 * sessions (a connection's locks are released by the server when it ends).
 * The API and its results are the same either way, errors and messages
 * included; where the two differ in detail:
 * - Inside a pipeline, calls on such objects are sent as requests, so
 *   that they keep their order with the rest of the pipeline.
 * - om_array_write() is always done by the server, under the array's
 *   lock, so a writer killed half-way never leaves a half-written range;
 *   om_array_read() takes that lock here while it copies.
 * - A value holding a str, bytes, nil or ref is the server's: its calls,
 *   and a set or cas that stores such an item, are requests; the value is
 *   back in shared memory once it holds a number again.
 * - A lock is held by the connection as before: a mapped client writes
 *   its session's token into the lock word. In a forked child the first
 *   call on a handle connects the child's own session (as for a request),
 *   so the child's locks are its own; the mappings themselves are
 *   inherited.
 * - Mapped waiters sleep on a futex in the segment and honour their
 *   timeouts there; a mapped client may take a free lock or permit ahead
 *   of RPC callers parked in the server (as threads do with any futex).
 * - The segment is mapped until om_release() of the handle (or
 *   om_disconnect()); opening an object costs one more round trip (MAP).
 * - A mapped call sends nothing, so a client that only makes mapped calls
 *   learns that the server closed its connection (a server out of memory
 *   for one of its answers, a server stopped) only at its next request;
 *   meanwhile a lock it takes is held under a token no session has, which
 *   the server frees at the next session's end.
 */

/** *base = the array's int64_t[*n] (OM_INT) or double[*n] (OM_FLOAT),
 *  mapped in this process, valid until om_release(a) (and in a forked
 *  child, which inherits the mapping). Take om_array_lock()
 *  around writes through it (Python's Array.get_lock()). @return OM_OK, or
 *  OM_EINVAL for an array that is not in shared memory (a remote client,
 *  OBJMGR_SHM=0). */
OM_EXPORT int om_array_map(om_array *a, void **base, size_t *n);
/** Acquire the array's own recursive lock (Python's get_lock(), an RLock):
 *  OM_OK, OM_OWNER_DIED (its holder's connection ended holding it) or
 *  OM_ETIMEOUT. While this client holds it, other clients' om_array_read()
 *  and om_array_write() wait; this client's proceed; single-element calls
 *  never wait. Released with the connection. */
OM_EXPORT int om_array_lock(om_array *a, double timeout);
/** Release one level of the array's lock. @return OM_OK or OM_ENOTOWNER. */
OM_EXPORT int om_array_unlock(om_array *a);
/** Whether calls on this handle's object are served in shared memory now:
 *  false for a value holding a str, bytes, nil or ref at this moment, and
 *  always for dicts, lists, queues, conditions and barriers (and for every
 *  handle of a client that cannot map). */
OM_EXPORT bool om_is_shared(const void *handle);

/* ----------------------------------------------------------------- queue */

/*
 * Python's queue.Queue / LifoQueue / PriorityQueue / JoinableQueue, plus
 * close. Blocked getters (and putters) are served in arrival order. A
 * connection that ends while parked loses nothing: an item is never handed
 * to a getter whose connection is gone.
 */

/** q.put(it, timeout). @return OM_OK; OM_EFULL if still full at the
 *  deadline; OM_ECLOSED if the queue is closed. */
OM_EXPORT int om_queue_put(om_queue *q, om_item it, double timeout);
/** Put with a priority (OM_PRIORITY queues: lowest first, FIFO among
 *  equals; OM_EINVAL on other queues). Returns as om_queue_put(). */
OM_EXPORT int om_queue_put_prio(om_queue *q, int64_t prio, om_item it,
                                double timeout);
/** *out = q.get(timeout). @return OM_OK; OM_EEMPTY if still empty at the
 *  deadline; OM_ECLOSED if closed and drained. */
OM_EXPORT int om_queue_get(om_queue *q, om_item *out, double timeout);
/** Put n items in one round trip, all or nothing: waits (up to timeout)
 *  until there is room for all of them. @return OM_OK, OM_EFULL,
 *  OM_ECLOSED, or OM_EINVAL if n is more than a bounded queue's maxsize. */
OM_EXPORT int om_queue_put_many(om_queue *q, const om_item *items, size_t n,
                                double timeout);
/** Get between 1 and max items in one round trip: waits (up to timeout)
 *  for the first, then takes what is there. *out is a list to free with
 *  om_items_free(). @return OM_OK, OM_EEMPTY, OM_ECLOSED, or OM_EINVAL if
 *  max is 0. */
OM_EXPORT int om_queue_get_many(om_queue *q, size_t max, om_items *out,
                                double timeout);
/** *n = q.qsize(). */
OM_EXPORT int om_queue_size(om_queue *q, size_t *n);
/** *out = q.empty(). */
OM_EXPORT int om_queue_empty(om_queue *q, bool *out);
/** *out = q.full() (never true when unbounded). */
OM_EXPORT int om_queue_full(om_queue *q, bool *out);
/** q.task_done() (OM_JOINABLE). @return OM_OK; OM_EVALUE if called more
 *  times than items were put; OM_EINVAL if not joinable. */
OM_EXPORT int om_queue_task_done(om_queue *q);
/** q.join(timeout) (OM_JOINABLE): wait until every item put has been
 *  task_done. @return OM_OK, OM_ETIMEOUT, or OM_EINVAL if not joinable. */
OM_EXPORT int om_queue_join(om_queue *q, double timeout);
/** Close: later puts fail OM_ECLOSED; gets drain what is left, then fail
 *  OM_ECLOSED; parked getters and putters are answered at once. */
OM_EXPORT int om_queue_close(om_queue *q);

/* ----------------------------------------------------------------- locks */

/**
 * Acquire. The holder is this client (connection). A non-recursive lock
 * acquired again by its holder blocks like any other acquirer.
 * @return OM_OK; OM_OWNER_DIED (success: the previous holder's connection
 *         ended while holding it; told once); OM_ETIMEOUT.
 */
OM_EXPORT int om_lock_acquire(om_lock *l, double timeout);
/** Release (an RLock must be released as often as acquired).
 *  @return OM_OK or OM_ENOTOWNER if this client does not hold it. */
OM_EXPORT int om_lock_release(om_lock *l);
/** *out = whether anyone holds the lock. */
OM_EXPORT int om_lock_locked(om_lock *l, bool *out);

/* ------------------------------------------------------------- semaphore */

/** Acquire one permit. @return OM_OK or OM_ETIMEOUT. */
OM_EXPORT int om_sem_acquire(om_sem *s, double timeout);
/** Release n permits. @return OM_OK; OM_EVALUE if an OM_BOUNDED semaphore
 *  would go above its initial value (nothing is released). */
OM_EXPORT int om_sem_release(om_sem *s, unsigned n);
/** *v = the number of free permits. */
OM_EXPORT int om_sem_value(om_sem *s, unsigned *v);

/* ------------------------------------------------------------- condition */

/** Acquire the condition's lock (returns as om_lock_acquire). */
OM_EXPORT int om_cond_acquire(om_cond *cv, double timeout);
/** Release the condition's lock. @return OM_OK or OM_ENOTOWNER. */
OM_EXPORT int om_cond_release(om_cond *cv);
/**
 * Wait for a notify: releases the lock (wholly, for a recursive one) while
 * waiting and holds it again on return, ETIMEOUT or not.
 * @return OM_OK (notified), OM_ETIMEOUT, OM_ENOTOWNER if the lock is not
 *         held by this client, OM_OWNER_DIED (notified; re-acquired the
 *         lock from a holder that died).
 */
OM_EXPORT int om_cond_wait(om_cond *cv, double timeout);
/** Wake up to n waiters (in arrival order). Needs the lock (OM_ENOTOWNER). */
OM_EXPORT int om_cond_notify(om_cond *cv, unsigned n);
/** Wake every waiter. Needs the lock (OM_ENOTOWNER). */
OM_EXPORT int om_cond_notify_all(om_cond *cv);

/* ----------------------------------------------------------------- event */

/** Set the flag and wake every waiter. */
OM_EXPORT int om_event_set(om_event *e);
/** Clear the flag. */
OM_EXPORT int om_event_clear(om_event *e);
/** *out = whether the flag is set. */
OM_EXPORT int om_event_is_set(om_event *e, bool *out);
/** Wait until the flag is set. @return OM_OK or OM_ETIMEOUT. */
OM_EXPORT int om_event_wait(om_event *e, double timeout);

/* --------------------------------------------------------------- barrier */

/**
 * Wait for all parties. *index (may be NULL) gets a distinct number in
 * 0..parties-1. @return OM_OK; OM_ETIMEOUT if this call's deadline
 * passed (which breaks the barrier, as in Python); OM_EBROKEN if the
 * barrier is or becomes broken (another party's timeout, an abort, a reset
 * while waiting, or a waiting party whose connection ended).
 */
OM_EXPORT int om_barrier_wait(om_barrier *b, double timeout, unsigned *index);
/** Back to the initial state; waiting parties get OM_EBROKEN. */
OM_EXPORT int om_barrier_reset(om_barrier *b);
/** Break the barrier: waiters and later waits get OM_EBROKEN until reset. */
OM_EXPORT int om_barrier_abort(om_barrier *b);
/** *n = parties. */
OM_EXPORT int om_barrier_parties(om_barrier *b, unsigned *n);
/** *n = parties waiting now. */
OM_EXPORT int om_barrier_n_waiting(om_barrier *b, unsigned *n);
/** *out = whether it is broken. */
OM_EXPORT int om_barrier_broken(om_barrier *b, bool *out);

/* ------------------------------------------------------------- processes */

/*
 * Python's multiprocessing.Process, on fork(). Every client and handle of
 * the parent keeps working in the child (the fork rules at the top). A
 * child flushes stdio and leaves with _exit(fn(arg)), so the parent's
 * atexit handlers do not run twice (the parent flushes stdio before
 * fork(), so what it had buffered is written once). At normal exit
 * (exit() or a return from main; in a child, also the return of fn) a
 * program first terminates (SIGTERM) its daemon children, then joins all
 * of its children, as Python does; a parent killed, even by
 * SIGKILL, takes its daemon children with it (PR_SET_PDEATHSIG, with the
 * race of a parent that died before the child set it closed), while
 * non-daemon children live on.
 * Children are reaped with waitpid() on their pid: a program that reaps
 * with waitpid(-1) or ignores SIGCHLD takes their exit status from this
 * library, which then reports the exit code as 0 — don't. PR_SET_PDEATHSIG
 * is the parent *thread*'s death: start daemons from a thread that lives
 * as long as they should.
 */
typedef struct om_process om_process;
/** A child's body: its return value is the exit code (0..255). */
typedef int (*om_target)(void *arg);

#define OM_DAEMON 0x100 /**< om_process_start: Process(daemon=True) */

/** fork() a child that runs fn(arg) and exits with its return value.
 *  flags: OM_DAEMON (see above). @return OM_OK; OM_EINVAL (fn NULL, out
 *  NULL, unknown flags, or called in a daemon child: a daemon cannot
 *  start processes); OM_ENOMEM; OM_ELIMIT if fork() fails (EAGAIN). */
OM_EXPORT int om_process_start(om_target fn, void *arg, int flags,
                               om_process **out);
/** Wait for the child to exit (and reap it); timeout as everywhere
 *  (OM_FOREVER, 0: one try). @return OM_OK, OM_ETIMEOUT, or OM_EINVAL for
 *  a NULL or freed handle or a NaN timeout. */
OM_EXPORT int om_process_join(om_process *p, double timeout);
/** Whether the child is still running (reaps it if it has exited). */
OM_EXPORT bool om_process_is_alive(om_process *p);
/** *code = its exit status, or -N if signal N ended it (as Python).
 *  @return OM_OK, or OM_EINVAL while it runs (Python's None), or for a
 *  NULL code. */
OM_EXPORT int om_process_exitcode(om_process *p, int *code);
/** Its pid (0 for a NULL handle). */
OM_EXPORT int om_process_pid(om_process *p);
/** Send SIGTERM (nothing if it has exited). @return OM_OK, OM_EINVAL. */
OM_EXPORT int om_process_terminate(om_process *p);
/** Send SIGKILL (nothing if it has exited). @return OM_OK, OM_EINVAL. */
OM_EXPORT int om_process_kill(om_process *p);
/** Free the handle. It joins nothing: a child still running is joined
 *  (or terminated, if a daemon) at exit all the same. NULL is ok. */
OM_EXPORT void om_process_free(om_process *p);

/* ----------------------------------------------------------------- pipes */

/*
 * Python's multiprocessing.Pipe: a server object with two ends, each a
 * handle. Messages arrive in order, each once. Closing follows Python's
 * Connection: om_pipe_close(e) means "this process is done with end e"
 * (the handle is invalid afterwards, as after om_release, which does the
 * same). An end is closed when every process that held it — the one that
 * opened it and every child that inherited it by fork() (om_process_start
 * children and pool workers too) — has closed or released it, called
 * om_disconnect(), exited or died. Then the other end's recv returns what
 * is left and then OM_ECLOSED (Python's EOFError), and its send fails
 * with OM_ECLOSED. So a parent that wants to see EOF when its child exits
 * closes its own copy of the child's end right after the fork. A named
 * pipe's ends stay open while its name exists; after om_unlink() they
 * close when their last holders go. Messages wait in the server (counted
 * against --max-memory), so a send never blocks.
 */
typedef struct om_pipe om_pipe;

/** Open both ends: *a and *b. flags: OM_CREATE, OM_EXCL, and OM_SIMPLEX:
 *  `a` only receives, `b` only sends (Pipe(duplex=False)). A named pipe
 *  opens the same two ends from any process. Returns as the other opens. */
OM_EXPORT int om_pipe_open(om_client *c, const char *name, int flags,
                           om_pipe **a, om_pipe **b);
/** Send one item to the other end. @return OM_OK; OM_ECLOSED if the other
 *  end is closed; OM_EINVAL on an end that only receives. */
OM_EXPORT int om_pipe_send(om_pipe *e, om_item it);
/** Send n items, in order, in one round trip (as n sends). */
OM_EXPORT int om_pipe_send_many(om_pipe *e, const om_item *items, size_t n);
/** *out = the next item. @return OM_OK; OM_ETIMEOUT; OM_ECLOSED when the
 *  other end is closed and nothing is left (EOFError); OM_EINVAL on an
 *  end that only sends. */
OM_EXPORT int om_pipe_recv(om_pipe *e, om_item *out, double timeout);
/** *ready = whether a recv would not wait: an item is there, or the other
 *  end is closed. OM_OK with *ready false at the deadline; OM_EINVAL on
 *  an end that only sends. */
OM_EXPORT int om_pipe_poll(om_pipe *e, double timeout, bool *ready);
/** This process is done with end e (om_release). @return OM_OK, or
 *  OM_EINVAL for a closed or invalid handle. */
OM_EXPORT int om_pipe_close(om_pipe *e);

/* ----------------------------------------------------------------- pools */

/*
 * Python's multiprocessing.Pool, as a server object: a task queue, the
 * tasks each worker session has taken, and the results. The call to
 * om_pool_open that creates the pool starts its workers, forked from the
 * caller (so they run the caller's functions, named in cfg->tasks); any
 * process that opens the pool by name can submit to it.
 *
 * Guarantees Python's Pool lacks:
 * - A worker that dies while running a task (killed, crashed) fails
 *   exactly that task with OM_EBROKEN and a message naming the worker's
 *   pid and the signal; the pool starts a new worker. No call ever waits
 *   forever on a dead worker: the server knows which session holds which
 *   task, so this follows from the session's end.
 * - A task's failure message (om_task_fail) reaches the caller whole,
 *   through om_errmsg().
 * - When the creator's connection ends, the pool is closed: its workers
 *   are stopped, unfinished tasks fail with OM_EBROKEN, later submissions
 *   get OM_ECLOSED. An initializer that fails breaks the pool the same way
 *   (its message in the tasks' errors) instead of restarting workers
 *   forever.
 *
 * Workers are daemon children of a supervisor process that the creator
 * forks (a daemon child of the creator's, which replaces workers that die
 * or reach maxtasksperchild): so a creator killed by SIGKILL takes its
 * whole pool with it (PR_SET_PDEATHSIG is the death of the creating
 * *thread*: open a pool from a thread that lives as long as the pool). A
 * worker runs tasks one at a time; tasks run in
 * submission order. A callback (om_async_then) runs once, in the process
 * that submitted, inside its next om_pool_* / om_async_* call that waits
 * (om_async_get, _get_items, _wait, _next, om_pool_apply, _map, _starmap,
 * _join) or om_pool_dispatch; never in a worker. When om_async_get of an
 * async returns its final answer, that async's callback has run.
 *
 * An async belongs to the process that submitted it: its job lives in that
 * process's session (OM_EINVAL from another, a forked child included), and
 * until om_async_free(). Calls that submit or wait, and om_pool_open, are
 * refused in a pipeline (OM_EINVAL); om_pool_close, _terminate and _info
 * may be pipelined. A worker takes one task at a time at first, as
 * Python's do, and more at once (up to 64, each reported as it finishes)
 * while its tasks take under 2 ms each — but only consecutive chunks of
 * one map, starmap or imap, as one bigger chunk would be; never tasks of
 * separate submissions, which may wait for each other. Tasks it had taken
 * and not begun when it dies go back to the queue, in order.
 */
typedef struct om_pool om_pool;
typedef struct om_async om_async; /**< Python's AsyncResult */
typedef struct om_task om_task;   /**< a running task, inside a worker */
/** A task's function: args are the call's arguments. Its result is what
 *  it passes to om_task_return() (nil if nothing); a negative return
 *  without om_task_fail() fails the task with that code's text. */
typedef int (*om_task_fn)(om_task *t, const om_item *args, size_t nargs);
typedef struct {
	const char *name;
	om_task_fn fn;
} om_task_def;
typedef struct {
	const om_task_def *tasks; /**< the functions tasks may name */
	size_t ntasks;
	om_task_fn initializer; /**< run once in each worker, or NULL; a
	                         *   negative return breaks the pool */
	const om_item *initargs;
	size_t ninitargs;
	unsigned maxtasksperchild; /**< 0 = no limit */
} om_pool_config;

#define OM_UNORDERED 0x200 /**< om_pool_imap: imap_unordered */

/** Open a pool. Creating it (name NULL, or OM_CREATE on a name that does
 *  not exist) starts `processes` workers (0: the CPUs this process may
 *  run on, sched_getaffinity) running cfg's functions; cfg must stay
 *  valid until the call returns (workers keep their own copy). Opening
 *  an existing named pool takes processes 0 and cfg NULL (creation
 *  parameters are used only on creation). @return as the other opens;
 *  OM_EINVAL also for a creation without cfg or tasks, a task without a
 *  name or function, two tasks of one name, or a creation in a daemon
 *  child (pool workers included); OM_ELIMIT if fork() fails. */
OM_EXPORT int om_pool_open(om_client *c, const char *name, int flags,
                           unsigned processes, const om_pool_config *cfg,
                           om_pool **out);

/** Inside a task: its result (copied). @return OM_OK; OM_EINVAL for a
 *  second result in one task (the first one stands). */
OM_EXPORT int om_task_return(om_task *t, om_item result);
/** Inside a task: the task raised (printf-style message, kept whole).
 *  @return OM_ETASK, so `return om_task_fail(t, "...")` reads naturally. */
OM_EXPORT int om_task_fail(om_task *t, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/** *out = fn(*args) in a worker (pool.apply). @return OM_OK; OM_ETASK
 *  (the task failed: om_errmsg() has its message); OM_EBROKEN (its worker
 *  died, or the pool broke); OM_ECLOSED (closed, or terminated); OM_EINVAL
 *  (no task of that name). */
OM_EXPORT int om_pool_apply(om_pool *p, const char *fn, const om_item *args,
                            size_t n, om_item *out);
/** Submit fn(*args) (pool.apply_async): *out is its async, to free with
 *  om_async_free(). Returns as om_pool_apply's submission. */
OM_EXPORT int om_pool_apply_async(om_pool *p, const char *fn,
                                  const om_item *args, size_t n,
                                  om_async **out);
/** *out = [fn(item) for item in items], in order (pool.map), sent to the
 *  workers `chunksize` items per task (0: the pool chooses, as Python's
 *  None: len / (4 * processes), rounded up). In a failure, the first
 *  failure to arrive is the call's error. */
OM_EXPORT int om_pool_map(om_pool *p, const char *fn, const om_item *items,
                          size_t n, size_t chunksize, om_items *out);
/** pool.map_async: om_async_get() gives an OM_REF to a managed list of
 *  the results in order (open it with om_open_ref(); it lives while the
 *  async does), om_async_get_items() the results themselves. */
OM_EXPORT int om_pool_map_async(om_pool *p, const char *fn,
                                const om_item *items, size_t n,
                                size_t chunksize, om_async **out);
/** *out = [fn(*argv[i]) for i in range(n)] (pool.starmap). */
OM_EXPORT int om_pool_starmap(om_pool *p, const char *fn, const om_items *argv,
                              size_t n, size_t chunksize, om_items *out);
/** pool.imap (flags 0) or imap_unordered (OM_UNORDERED): results one at a
 *  time with om_async_next() (chunksize 0 is 1, as Python's default). */
OM_EXPORT int om_pool_imap(om_pool *p, const char *fn, const om_item *items,
                           size_t n, size_t chunksize, int flags,
                           om_async **out);
/** imap: *out = the next result (in order, or as they finish with
 *  OM_UNORDERED). @return OM_OK; OM_ETIMEOUT; OM_ECLOSED once every
 *  result was taken; a failed item's error (OM_ETASK, OM_EBROKEN, ...)
 *  in its place, after which the next one follows. */
OM_EXPORT int om_async_next(om_async *r, om_item *out, double timeout);

/** *out = the result (AsyncResult.get). @return OM_OK; OM_ETIMEOUT; the
 *  task's error (OM_ETASK with om_errmsg(), OM_EBROKEN, OM_ECLOSED). For
 *  map_async, an OM_REF to the managed list of results. */
OM_EXPORT int om_async_get(om_async *r, om_item *out, double timeout);
/** map_async's (or apply_async's: one) results as items. Returns as
 *  om_async_get(). */
OM_EXPORT int om_async_get_items(om_async *r, om_items *out, double timeout);
/** Wait until it is ready. @return OM_OK or OM_ETIMEOUT. */
OM_EXPORT int om_async_wait(om_async *r, double timeout);
/** *ready = whether it has finished (no waiting). */
OM_EXPORT int om_async_ready(om_async *r, bool *ready);
/** *ok = whether it finished without error. @return OM_OK, or OM_EINVAL
 *  if it is not ready (as Python's ValueError). */
OM_EXPORT int om_async_successful(om_async *r, bool *ok);
/** Run cb(rc, result, arg) once when it finishes (Python's callback and
 *  error_callback in one): rc OM_OK with the result (map_async: the
 *  OM_REF that om_async_get gives), or the error with result NULL
 *  (om_errmsg() of the pool's client has the message). Runs in this
 *  process only (see the top of this section); at once, inside the next
 *  waiting call, if it is already finished. @return OM_OK, or OM_EINVAL
 *  if a callback is set already, cb is NULL, or r is an imap's (its
 *  results are taken one by one with om_async_next). */
OM_EXPORT int om_async_then(om_async *r,
                            void (*cb)(int rc, const om_item *result,
                                       void *arg),
                            void *arg);
/** Free the async (its result is dropped; its tasks still run). A
 *  callback not run yet never runs. NULL is ok. */
OM_EXPORT void om_async_free(om_async *r);

/** Run every callback that is due, waiting up to `timeout` for one if
 *  none is. @return OM_OK, or OM_ETIMEOUT if none came (at once when no
 *  async of this process has a callback still to run: none can come). */
OM_EXPORT int om_pool_dispatch(om_pool *p, double timeout);
/** No more tasks (pool.close): workers exit once the queue is drained. */
OM_EXPORT int om_pool_close(om_pool *p);
/** Stop the workers now (pool.terminate): they are killed, and tasks not
 *  finished fail with OM_ECLOSED. */
OM_EXPORT int om_pool_terminate(om_pool *p);
/** After close or terminate, wait until every worker has exited (running
 *  callbacks as they come due). @return OM_OK, OM_ETIMEOUT, or OM_EINVAL
 *  if the pool is still open (Python's ValueError). */
OM_EXPORT int om_pool_join(om_pool *p, double timeout);

/** A pool's state, as the server sees it now (om_pool_info). */
typedef struct om_pool_stats {
	unsigned processes; /**< workers it keeps */
	unsigned workers;   /**< worker sessions connected now */
	size_t queued;      /**< tasks waiting for a worker */
	size_t running;     /**< tasks a worker has taken */
	bool closed;        /**< closed, terminated or broken */
} om_pool_stats;
/** *out = the pool's state. */
OM_EXPORT int om_pool_info(om_pool *p, om_pool_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* OBJMGR_H */
