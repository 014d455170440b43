#ifndef CTALLYSHIMS_H
#define CTALLYSHIMS_H

#include <stddef.h>
#include <stdint.h>

/// Whether this CPU has the SSE4.2 CRC32 instruction (x86-64 only; 0 elsewhere). The first call also builds
/// the table that joins parallel lanes, so call it once before tally_crc32c_hardware_update.
int tally_crc32c_hardware_available(void);

/// Advances a raw (non-inverted) CRC-32C register over `length` bytes with the SSE4.2 CRC32 instruction,
/// in three interleaved lanes for buffers of 3 KiB and more. Only call when
/// tally_crc32c_hardware_available() returned 1.
uint32_t tally_crc32c_hardware_update(uint32_t crc, const void *bytes, size_t length);

/// Whether this CPU has the carry-less multiply (PCLMULQDQ) and SSE4.1 instructions that
/// tally_crc32_fold uses (x86-64 only; 0 elsewhere).
int tally_crc32_fold_available(void);

/// Advances a raw (non-inverted) CRC-32 register (gzip's polynomial, reflected 0xEDB88320) over `length`
/// bytes by folding 64 bytes at a time with carry-less multiplies. `length` must be at least 64 and a
/// multiple of 16. Only call when tally_crc32_fold_available() returned 1.
uint32_t tally_crc32_fold(uint32_t crc, const void *bytes, size_t length);

/// epoll, eventfd and accept4, which Glibc's Swift module does not expose. Each returns what the system
/// call returns (-1 with errno set on failure).
int tally_epoll_create(void);
/// Registers (op 1), modifies (op 3) or removes (op 2) `fd`; `events` are EPOLL* bits; `data` comes back
/// in tally_epoll_wait's `datas`.
int tally_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data);
/// Waits for up to `capacity` events; fills `events_out` and `datas_out` in parallel.
int tally_epoll_wait(int epfd, uint32_t *events_out, uint64_t *datas_out, int capacity, int timeout_ms);
int tally_eventfd(void);
int tally_accept(int fd);

/// Grows (or shrinks) the anonymous mapping at `address` to `new_size` bytes, moving it elsewhere if it
/// must: the kernel moves the page tables, not the bytes, so growing a large table costs no copy. Returns
/// the mapping's new address, or NULL (errno set) when it could not, in which case the old mapping is
/// unchanged. mremap is variadic, which Swift cannot call.
void *tally_mremap_move(void *address, size_t old_size, size_t new_size);

/// Starts the kernel's writeback of the dirty pages of `fd` in [`offset`, `offset + count`) without waiting
/// for it (sync_file_range with SYNC_FILE_RANGE_WRITE only): no durability, no metadata, just an earlier
/// start. Returns what the system call returns (-1 with errno set on failure).
int tally_start_writeback(int fd, int64_t offset, int64_t count);

/// Asks the CPU to bring the cache line holding `address` close, ahead of a write. A hint only: it never
/// faults and changes no result. Inline, so a call costs one instruction.
static inline void tally_prefetch_for_write(const void *address) { __builtin_prefetch(address, 1, 3); }

/// Installs handlers for SIGINT and SIGTERM that record the first signal and make
/// tally_interrupt_descriptor() readable, so a thread waiting in poll(2) on it wakes whichever thread the
/// signal landed on. A second signal gets the default action (the process ends at once). A signal ignored
/// when the process started stays ignored; both are unblocked in the calling thread (and so in threads it
/// starts afterwards). Returns 0, or -1 with errno set.
int tally_interrupt_install(void);
/// The first signal received since tally_interrupt_install (SIGINT or SIGTERM), or 0.
int tally_interrupt_received(void);
/// A descriptor that becomes readable once a signal was received; -1 before tally_interrupt_install.
int tally_interrupt_descriptor(void);

/// The EPOLL* constants, for Swift.
extern const uint32_t tally_epollin;
extern const uint32_t tally_epollout;
extern const uint32_t tally_epollerr;
extern const uint32_t tally_epollhup;
extern const uint32_t tally_epollrdhup;
extern const uint32_t tally_epollet;
extern const uint32_t tally_epollexclusive;

/// Adds to `actions` the closing of every descriptor from `low` on in the child of a posix_spawn
/// (glibc's posix_spawn_file_actions_addclosefrom_np, which Glibc's Swift module hides): a child then holds
/// only the descriptors it was given, with nothing to list. Returns what that call returns (0, or an error
/// number).
int tally_spawn_file_actions_addclosefrom(void *actions, int low);

#endif
