// A saved state's frame made to match its bytes, for tests and fuzz targets
// that alter a payload and want only the payload checks to judge it.
#pragma once

#include <sipdetect/detail/state_io.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace test_state_frame {

// The frame's length and CRC rewritten to match the bytes. Empty if `image`
// is too short to hold a frame.
inline std::string with_fixed_frame(std::string_view image) {
    constexpr std::size_t header = sipdetect::detail::state_header_size;
    if (image.size() < header + 4) return {};
    std::string out(image);
    const std::uint64_t length = out.size() - header - 4;
    for (std::size_t i = 0; i < 8; ++i) out[12 + i] = static_cast<char>((length >> (8 * i)) & 0xffu);
    const std::uint32_t crc = sipdetect::detail::crc32(std::string_view(out).substr(0, out.size() - 4));
    for (std::size_t i = 0; i < 4; ++i) out[out.size() - 4 + i] = static_cast<char>((crc >> (8 * i)) & 0xffu);
    return out;
}

} // namespace test_state_frame
