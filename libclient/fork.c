/*
 * fork.c — what libobjmgr keeps per process: the fork generation, bumped
 * in every child (pthread_atfork), by which a client or a handle inherited
 * from a parent is told from one of this process's own; and the life pipes
 * of the servers this process spawned, which a child must not inherit.
 */
#include <pthread.h>
#include <unistd.h>

#include "internal.h"

static uint64_t fork_gen = 1;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* Clients holding a spawned server's life pipe (usually one). */
enum { MAX_SPAWNED = 64 };
static om_client *spawned[MAX_SPAWNED];
static pthread_mutex_t spawned_mu = PTHREAD_MUTEX_INITIALIZER;

static void on_fork_child(void)
{
	fork_gen++;
	/* The child must not keep the parent's server alive. */
	for (size_t i = 0; i < MAX_SPAWNED; i++) {
		if (spawned[i] && spawned[i]->life_fd >= 0) {
			close(spawned[i]->life_fd);
			spawned[i]->life_fd = -1;
		}
		spawned[i] = NULL;
	}
}

void omi_life_adopt(om_client *c, int fd)
{
	c->life_fd = fd;
	pthread_mutex_lock(&spawned_mu);
	for (size_t i = 0; i < MAX_SPAWNED; i++) {
		if (!spawned[i]) {
			spawned[i] = c;
			break;
		}
	}
	/* Past MAX_SPAWNED, children inherit the pipe: the server then
	 * lives until they exit too, which is safe, just later. */
	pthread_mutex_unlock(&spawned_mu);
}

void omi_life_drop(om_client *c)
{
	pthread_mutex_lock(&spawned_mu);
	for (size_t i = 0; i < MAX_SPAWNED; i++)
		if (spawned[i] == c)
			spawned[i] = NULL;
	pthread_mutex_unlock(&spawned_mu);
	if (c->life_fd >= 0)
		close(c->life_fd);
	c->life_fd = -1;
}

static void register_atfork(void)
{
	pthread_atfork(NULL, NULL, on_fork_child);
}

void omi_fork_init(void)
{
	pthread_once(&atfork_once, register_atfork);
}

uint64_t omi_fork_gen(void)
{
	return fork_gen;
}
