// Small C helpers for what Swift on Linux cannot reach directly.
#define _GNU_SOURCE
#include "CTallyShims.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

const uint32_t tally_epollin = EPOLLIN;
const uint32_t tally_epollout = EPOLLOUT;
const uint32_t tally_epollerr = EPOLLERR;
const uint32_t tally_epollhup = EPOLLHUP;
const uint32_t tally_epollrdhup = EPOLLRDHUP;
const uint32_t tally_epollet = EPOLLET;
const uint32_t tally_epollexclusive = EPOLLEXCLUSIVE;

int tally_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int tally_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event event;
    event.events = events;
    event.data.u64 = data;
    return epoll_ctl(epfd, op, fd, &event);
}

int tally_epoll_wait(int epfd, uint32_t *events_out, uint64_t *datas_out, int capacity, int timeout_ms) {
    struct epoll_event events[256];
    if (capacity > 256) capacity = 256;
    int count = epoll_wait(epfd, events, capacity, timeout_ms);
    for (int i = 0; i < count; i++) {
        events_out[i] = events[i].events;
        datas_out[i] = events[i].data.u64;
    }
    return count;
}

int tally_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

int tally_accept(int fd) { return accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC); }

#include <string.h>

#if defined(__x86_64__)
#include <nmmintrin.h>

int tally_crc32c_hardware_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2") ? 1 : 0;
}

__attribute__((target("sse4.2")))
uint32_t tally_crc32c_hardware_update(uint32_t crc, const void *bytes, size_t length) {
    const unsigned char *p = (const unsigned char *)bytes;
    uint64_t wide = crc;
    while (length >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        wide = _mm_crc32_u64(wide, word);
        p += 8;
        length -= 8;
    }
    uint32_t narrow = (uint32_t)wide;
    while (length > 0) {
        narrow = _mm_crc32_u8(narrow, *p);
        p += 1;
        length -= 1;
    }
    return narrow;
}
#else
int tally_crc32c_hardware_available(void) { return 0; }

uint32_t tally_crc32c_hardware_update(uint32_t crc, const void *bytes, size_t length) {
    (void)bytes;
    (void)length;
    return crc;
}
#endif
