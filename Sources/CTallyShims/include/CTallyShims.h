#ifndef CTALLYSHIMS_H
#define CTALLYSHIMS_H

#include <stddef.h>
#include <stdint.h>

/// Whether this CPU has the SSE4.2 CRC32 instruction (x86-64 only; 0 elsewhere).
int tally_crc32c_hardware_available(void);

/// Advances a raw (non-inverted) CRC-32C register over `length` bytes with the SSE4.2 CRC32 instruction.
/// Only call when tally_crc32c_hardware_available() returned 1.
uint32_t tally_crc32c_hardware_update(uint32_t crc, const void *bytes, size_t length);

#endif
