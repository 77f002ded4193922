/* C helpers for package nbd; see shim.h. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include "shim.h"

static void uf_seterr(uf_err *e)
{
	const char *m = nbd_get_error();
	e->errnum = nbd_get_errno();
	e->msg = m != NULL ? strdup(m) : NULL;
}

static void uf_setmsg(uf_err *e, const char *m, int errnum)
{
	e->errnum = errnum;
	e->msg = strdup(m);
}

struct nbd_handle *uf_create(uf_err *e)
{
	struct nbd_handle *h = nbd_create();
	if (h == NULL) {
		uf_seterr(e);
		return NULL;
	}
	/* Buffers are checked for errors by the Go side: skip the memset. */
	if (nbd_set_pread_initialize(h, false) == -1) {
		uf_seterr(e);
		nbd_close(h);
		return NULL;
	}
	return h;
}

int uf_aio_connect_uri(struct nbd_handle *h, const char *uri, uf_err *e)
{
	int r = nbd_aio_connect_uri(h, uri);
	if (r == -1)
		uf_seterr(e);
	return r;
}

/* uf_connect_step advances an asynchronous connection for at most
 * timeout_ms. It returns 1 when the handle is ready, 0 while it is still
 * connecting and -1 on error. */
int uf_connect_step(struct nbd_handle *h, int timeout_ms, uf_err *e)
{
	if (nbd_aio_is_connecting(h)) {
		if (nbd_poll(h, timeout_ms) == -1) {
			uf_seterr(e);
			return -1;
		}
	}
	if (nbd_aio_is_ready(h))
		return 1;
	if (nbd_aio_is_connecting(h))
		return 0;
	uf_setmsg(e, "connection closed by the server during the handshake", ENOTCONN);
	return -1;
}

/* uf_close disconnects politely when the connection is up, then frees the
 * handle. It returns -1 if the disconnect failed; the handle is freed
 * either way. */
int uf_close(struct nbd_handle *h, uf_err *e)
{
	int r = 0;
	if (nbd_aio_is_ready(h) || nbd_aio_is_processing(h)) {
		r = nbd_shutdown(h, LIBNBD_SHUTDOWN_ABANDON_PENDING);
		if (r == -1)
			uf_seterr(e);
	}
	nbd_close(h);
	return r;
}

int64_t uf_get_size(struct nbd_handle *h, uf_err *e)
{
	int64_t r = nbd_get_size(h);
	if (r == -1)
		uf_seterr(e);
	return r;
}

int uf_can_zero(struct nbd_handle *h, uf_err *e)
{
	int r = nbd_can_zero(h);
	if (r == -1)
		uf_seterr(e);
	return r;
}

int uf_can_multi_conn(struct nbd_handle *h, uf_err *e)
{
	int r = nbd_can_multi_conn(h);
	if (r == -1)
		uf_seterr(e);
	return r;
}

int uf_pread(struct nbd_handle *h, void *buf, size_t n, uint64_t off, uf_err *e)
{
	int r = nbd_pread(h, buf, n, off, 0);
	if (r == -1)
		uf_seterr(e);
	return r;
}

int uf_pwrite(struct nbd_handle *h, const void *buf, size_t n, uint64_t off, uf_err *e)
{
	int r = nbd_pwrite(h, buf, n, off, 0);
	if (r == -1)
		uf_seterr(e);
	return r;
}

int uf_zero(struct nbd_handle *h, uint64_t n, uint64_t off, uf_err *e)
{
	int r = nbd_zero(h, n, off, 0);
	if (r == -1)
		uf_seterr(e);
	return r;
}

int uf_flush(struct nbd_handle *h, uf_err *e)
{
	int r = nbd_flush(h, 0);
	if (r == -1)
		uf_seterr(e);
	return r;
}

int64_t uf_aio_pread(struct nbd_handle *h, void *buf, size_t n, uint64_t off, uf_err *e)
{
	int64_t r = nbd_aio_pread(h, buf, n, off, NBD_NULL_COMPLETION, 0);
	if (r == -1)
		uf_seterr(e);
	return r;
}

int64_t uf_aio_pwrite(struct nbd_handle *h, const void *buf, size_t n, uint64_t off, uf_err *e)
{
	int64_t r = nbd_aio_pwrite(h, buf, n, off, NBD_NULL_COMPLETION, 0);
	if (r == -1)
		uf_seterr(e);
	return r;
}

int64_t uf_aio_zero(struct nbd_handle *h, uint64_t n, uint64_t off, uf_err *e)
{
	int64_t r = nbd_aio_zero(h, n, off, NBD_NULL_COMPLETION, 0);
	if (r == -1)
		uf_seterr(e);
	return r;
}

int64_t uf_aio_flush(struct nbd_handle *h, uf_err *e)
{
	int64_t r = nbd_aio_flush(h, NBD_NULL_COMPLETION, 0);
	if (r == -1)
		uf_seterr(e);
	return r;
}

int uf_aio_command_completed(struct nbd_handle *h, int64_t cookie, uf_err *e)
{
	int r = nbd_aio_command_completed(h, (uint64_t)cookie);
	if (r == -1)
		uf_seterr(e);
	return r;
}

int64_t uf_aio_peek_command_completed(struct nbd_handle *h, uf_err *e)
{
	int64_t r = nbd_aio_peek_command_completed(h);
	if (r == -1)
		uf_seterr(e);
	return r;
}

int uf_aio_in_flight(struct nbd_handle *h)
{
	int r = nbd_aio_in_flight(h);
	return r < 0 ? 0 : r;
}

int uf_poll(struct nbd_handle *h, int timeout_ms, uf_err *e)
{
	int r = nbd_poll(h, timeout_ms);
	if (r == -1)
		uf_seterr(e);
	return r;
}

/* uf_poll2 is nbd_poll over two handles at once: it waits up to timeout_ms
 * for either socket to be ready for what its handle wants, then lets each
 * ready handle make progress (read first, as nbd_poll does). */
int uf_poll2(struct nbd_handle *a, struct nbd_handle *b, int timeout_ms, uf_err *e)
{
	struct nbd_handle *h[2] = { a, b };
	struct pollfd fds[2];
	for (int i = 0; i < 2; i++) {
		int fd = nbd_aio_get_fd(h[i]);
		if (fd == -1) {
			uf_seterr(e);
			return -1;
		}
		unsigned dir = nbd_aio_get_direction(h[i]);
		fds[i].fd = fd;
		fds[i].events = 0;
		fds[i].revents = 0;
		if (dir & LIBNBD_AIO_DIRECTION_READ)
			fds[i].events |= POLLIN;
		if (dir & LIBNBD_AIO_DIRECTION_WRITE)
			fds[i].events |= POLLOUT;
	}
	int r = poll(fds, 2, timeout_ms);
	if (r == -1) {
		if (errno == EINTR)
			return 0;
		uf_setmsg(e, strerror(errno), errno);
		return -1;
	}
	for (int i = 0; i < 2; i++) {
		short re = fds[i].revents;
		if (re & (POLLIN | POLLHUP))
			r = nbd_aio_notify_read(h[i]);
		else if (re & POLLOUT)
			r = nbd_aio_notify_write(h[i]);
		else if (re & (POLLERR | POLLNVAL)) {
			uf_setmsg(e, "server closed socket unexpectedly", ENOTCONN);
			return -1;
		} else
			continue;
		if (r == -1) {
			uf_seterr(e);
			return -1;
		}
	}
	return 0;
}
