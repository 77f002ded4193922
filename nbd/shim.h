/* C helpers for package nbd.
 *
 * Every helper that can fail reads nbd_get_error and nbd_get_errno before it
 * returns, in the same C call as the failing libnbd call: both are per OS
 * thread, and a goroutine may change threads between two cgo calls.
 * Helpers that issue asynchronous commands pass NBD_NULL_COMPLETION, a
 * compound literal cgo cannot express, so no callback ever runs Go code.
 */
#ifndef UF_NBD_SHIM_H
#define UF_NBD_SHIM_H

#include <stdint.h>
#include <libnbd.h>

/* uf_err receives the error of a failed call. msg is malloc'd (or NULL) and
 * must be freed by the caller. */
typedef struct {
	char *msg;
	int errnum;
} uf_err;

struct nbd_handle *uf_create(uf_err *e);
int uf_aio_connect_uri(struct nbd_handle *h, const char *uri, uf_err *e);
int uf_connect_step(struct nbd_handle *h, int timeout_ms, uf_err *e);
int uf_close(struct nbd_handle *h, uf_err *e);

int64_t uf_get_size(struct nbd_handle *h, uf_err *e);
int uf_can_zero(struct nbd_handle *h, uf_err *e);
int uf_can_multi_conn(struct nbd_handle *h, uf_err *e);

int uf_pread(struct nbd_handle *h, void *buf, size_t n, uint64_t off, uf_err *e);
int uf_pwrite(struct nbd_handle *h, const void *buf, size_t n, uint64_t off, uf_err *e);
int uf_zero(struct nbd_handle *h, uint64_t n, uint64_t off, uf_err *e);
int uf_flush(struct nbd_handle *h, uf_err *e);

int64_t uf_aio_pread(struct nbd_handle *h, void *buf, size_t n, uint64_t off, uf_err *e);
int64_t uf_aio_pwrite(struct nbd_handle *h, const void *buf, size_t n, uint64_t off, uf_err *e);
int64_t uf_aio_zero(struct nbd_handle *h, uint64_t n, uint64_t off, uf_err *e);
int64_t uf_aio_flush(struct nbd_handle *h, uf_err *e);
int uf_aio_command_completed(struct nbd_handle *h, int64_t cookie, uf_err *e);
int64_t uf_aio_peek_command_completed(struct nbd_handle *h, uf_err *e);
int uf_aio_in_flight(struct nbd_handle *h);
int uf_poll(struct nbd_handle *h, int timeout_ms, uf_err *e);
int uf_poll2(struct nbd_handle *a, struct nbd_handle *b, int timeout_ms, uf_err *e);

#endif
