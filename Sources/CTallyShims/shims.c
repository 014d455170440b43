// Small C helpers for what Swift on Linux cannot reach directly.
#define _GNU_SOURCE
#include "CTallyShims.h"

#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <errno.h>
#include <signal.h>
#include <pthread.h>
#include <spawn.h>
#include <unistd.h>

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

void *tally_mremap_move(void *address, size_t old_size, size_t new_size) {
    void *moved = mremap(address, old_size, new_size, MREMAP_MAYMOVE);
    return moved == MAP_FAILED ? NULL : moved;
}

int tally_start_writeback(int fd, int64_t offset, int64_t count) {
    return sync_file_range(fd, offset, count, SYNC_FILE_RANGE_WRITE);
}

#include <string.h>

#if defined(__x86_64__)
#include <nmmintrin.h>

/* One lane: advances a raw register over `length` bytes, eight at a time, then byte by byte. */
__attribute__((target("sse4.2")))
static uint32_t crc32c_serial(uint32_t crc, const unsigned char *p, size_t length) {
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

/* Long buffers run as three independent lanes of LANE bytes, since the CRC32 instruction takes three
   cycles but can start one per cycle. A lane's register is then moved past the next lane's bytes with
   `shift`: advancing a register over LANE zero bytes is linear in its 32 bits, so it is tabulated once as
   four 256-entry tables, one per register byte. */
enum { LANE = 1024 };
static uint32_t shift_table[4][256];
static int shift_table_ready;

__attribute__((target("sse4.2")))
static void build_shift_table(void) {
    static const unsigned char zeros[LANE];
    uint32_t basis[32];
    for (int bit = 0; bit < 32; bit++) basis[bit] = crc32c_serial(1u << bit, zeros, LANE);
    for (int byte = 0; byte < 4; byte++) {
        for (int value = 0; value < 256; value++) {
            uint32_t shifted = 0;
            for (int bit = 0; bit < 8; bit++) {
                if (value & (1 << bit)) shifted ^= basis[byte * 8 + bit];
            }
            shift_table[byte][value] = shifted;
        }
    }
    __atomic_store_n(&shift_table_ready, 1, __ATOMIC_RELEASE);
}

static inline uint32_t shift(uint32_t crc) {
    return shift_table[0][crc & 0xFF] ^ shift_table[1][(crc >> 8) & 0xFF]
        ^ shift_table[2][(crc >> 16) & 0xFF] ^ shift_table[3][crc >> 24];
}

int tally_crc32c_hardware_available(void) {
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("sse4.2")) return 0;
    /* Built before first use (the table is the same whichever thread builds it). */
    if (!__atomic_load_n(&shift_table_ready, __ATOMIC_ACQUIRE)) build_shift_table();
    return 1;
}

__attribute__((target("sse4.2")))
uint32_t tally_crc32c_hardware_update(uint32_t crc, const void *bytes, size_t length) {
    const unsigned char *p = (const unsigned char *)bytes;
    if (length >= 3 * LANE && __atomic_load_n(&shift_table_ready, __ATOMIC_ACQUIRE)) {
        uint64_t first = crc;
        while (length >= 3 * LANE) {
            uint64_t second = 0, third = 0;
            for (size_t index = 0; index < LANE; index += 8) {
                uint64_t a, b, c;
                memcpy(&a, p + index, 8);
                memcpy(&b, p + LANE + index, 8);
                memcpy(&c, p + 2 * LANE + index, 8);
                first = _mm_crc32_u64(first, a);
                second = _mm_crc32_u64(second, b);
                third = _mm_crc32_u64(third, c);
            }
            first = shift(shift((uint32_t)first) ^ (uint32_t)second) ^ (uint32_t)third;
            p += 3 * LANE;
            length -= 3 * LANE;
        }
        crc = (uint32_t)first;
    }
    return crc32c_serial(crc, p, length);
}
#else
int tally_crc32c_hardware_available(void) { return 0; }

uint32_t tally_crc32c_hardware_update(uint32_t crc, const void *bytes, size_t length) {
    (void)bytes;
    (void)length;
    return crc;
}
#endif

/* CRC-32 (gzip) by folding: the running 512-bit remainder is multiplied by x^512 mod P (and x^576 mod P)
   with carry-less multiplies and folded into the next 64 bytes, four 128-bit lanes at a time; then the lanes
   are folded into one, that one to 64 bits, and a Barrett reduction gives the 32-bit register. The constants
   are powers of x modulo P(x) = 0x104C11DB7, bit-reflected (Intel, "Fast CRC Computation for Generic
   Polynomials Using PCLMULQDQ Instruction", 2009). */
#if defined(__x86_64__)
#include <wmmintrin.h>
#include <smmintrin.h>

int tally_crc32_fold_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
}

__attribute__((target("pclmul,sse4.1")))
uint32_t tally_crc32_fold(uint32_t crc, const void *bytes, size_t length) {
    const unsigned char *p = (const unsigned char *)bytes;
    const __m128i fold4 = _mm_set_epi64x(0x01c6e41596, 0x0154442bd4);
    const __m128i fold1 = _mm_set_epi64x(0x00ccaa009e, 0x01751997d0);
    const __m128i to64 = _mm_set_epi64x(0, 0x0163cd6124);
    const __m128i barrett = _mm_set_epi64x(0x01f7011641, 0x01db710641);
    const __m128i low32 = _mm_setr_epi32(~0, 0, ~0, 0);

    __m128i x1 = _mm_loadu_si128((const __m128i *)(p + 0x00));
    __m128i x2 = _mm_loadu_si128((const __m128i *)(p + 0x10));
    __m128i x3 = _mm_loadu_si128((const __m128i *)(p + 0x20));
    __m128i x4 = _mm_loadu_si128((const __m128i *)(p + 0x30));
    x1 = _mm_xor_si128(x1, _mm_cvtsi32_si128((int)crc));
    p += 64;
    length -= 64;
    while (length >= 64) {
        __m128i y1 = _mm_clmulepi64_si128(x1, fold4, 0x00);
        __m128i y2 = _mm_clmulepi64_si128(x2, fold4, 0x00);
        __m128i y3 = _mm_clmulepi64_si128(x3, fold4, 0x00);
        __m128i y4 = _mm_clmulepi64_si128(x4, fold4, 0x00);
        x1 = _mm_clmulepi64_si128(x1, fold4, 0x11);
        x2 = _mm_clmulepi64_si128(x2, fold4, 0x11);
        x3 = _mm_clmulepi64_si128(x3, fold4, 0x11);
        x4 = _mm_clmulepi64_si128(x4, fold4, 0x11);
        x1 = _mm_xor_si128(_mm_xor_si128(x1, y1), _mm_loadu_si128((const __m128i *)(p + 0x00)));
        x2 = _mm_xor_si128(_mm_xor_si128(x2, y2), _mm_loadu_si128((const __m128i *)(p + 0x10)));
        x3 = _mm_xor_si128(_mm_xor_si128(x3, y3), _mm_loadu_si128((const __m128i *)(p + 0x20)));
        x4 = _mm_xor_si128(_mm_xor_si128(x4, y4), _mm_loadu_si128((const __m128i *)(p + 0x30)));
        p += 64;
        length -= 64;
    }
    /* Four lanes into one, then the remaining 16-byte blocks. */
    __m128i y = _mm_clmulepi64_si128(x1, fold1, 0x00);
    x1 = _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x1, fold1, 0x11), y), x2);
    y = _mm_clmulepi64_si128(x1, fold1, 0x00);
    x1 = _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x1, fold1, 0x11), y), x3);
    y = _mm_clmulepi64_si128(x1, fold1, 0x00);
    x1 = _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x1, fold1, 0x11), y), x4);
    while (length >= 16) {
        y = _mm_clmulepi64_si128(x1, fold1, 0x00);
        x1 = _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x1, fold1, 0x11), y),
                           _mm_loadu_si128((const __m128i *)p));
        p += 16;
        length -= 16;
    }
    /* 128 bits to 64. */
    y = _mm_clmulepi64_si128(x1, fold1, 0x10);
    x1 = _mm_xor_si128(_mm_srli_si128(x1, 8), y);
    y = _mm_srli_si128(x1, 4);
    x1 = _mm_clmulepi64_si128(_mm_and_si128(x1, low32), to64, 0x00);
    x1 = _mm_xor_si128(x1, y);
    /* Barrett reduction to 32 bits. */
    y = _mm_and_si128(x1, low32);
    y = _mm_clmulepi64_si128(y, barrett, 0x10);
    y = _mm_and_si128(y, low32);
    y = _mm_clmulepi64_si128(y, barrett, 0x00);
    x1 = _mm_xor_si128(x1, y);
    return (uint32_t)_mm_extract_epi32(x1, 1);
}
#else
int tally_crc32_fold_available(void) { return 0; }

uint32_t tally_crc32_fold(uint32_t crc, const void *bytes, size_t length) {
    (void)bytes;
    (void)length;
    return crc;
}
#endif

static volatile sig_atomic_t interrupt_signal = 0;
static int interrupt_pipe[2] = {-1, -1};

static void interrupt_handler(int number) {
    if (interrupt_signal != 0) {
        // The second signal: the user insists. Only async-signal-safe calls here.
        signal(number, SIG_DFL);
        raise(number);
        return;
    }
    interrupt_signal = number;
    int saved = errno;
    ssize_t ignored = write(interrupt_pipe[1], "!", 1);
    (void)ignored;
    errno = saved;
}

int tally_interrupt_install(void) {
    if (interrupt_pipe[0] < 0 && pipe2(interrupt_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return -1;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = interrupt_handler;
    sigemptyset(&action.sa_mask);
    // Restarted: a read or write in progress goes on; waiters learn of the signal through the pipe.
    action.sa_flags = SA_RESTART;
    const int numbers[2] = {SIGINT, SIGTERM};
    sigset_t unblock;
    sigemptyset(&unblock);
    for (int index = 0; index < 2; index++) {
        struct sigaction previous;
        if (sigaction(numbers[index], NULL, &previous) != 0) return -1;
        // A signal ignored from the start (a background job of a script) stays ignored, as shells expect.
        if (previous.sa_handler == SIG_IGN) continue;
        if (sigaction(numbers[index], &action, NULL) != 0) return -1;
        sigaddset(&unblock, numbers[index]);
    }
    // A parent may have left them blocked (a mask survives exec): one that asked to stop must be heard.
    return pthread_sigmask(SIG_UNBLOCK, &unblock, NULL) == 0 ? 0 : -1;
}

int tally_interrupt_received(void) { return interrupt_signal; }

int tally_interrupt_descriptor(void) { return interrupt_pipe[0]; }

int tally_spawn_file_actions_addclosefrom(void *actions, int low) {
    return posix_spawn_file_actions_addclosefrom_np((posix_spawn_file_actions_t *)actions, low);
}
