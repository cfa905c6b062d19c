// sipdetect command-line program: IPFIX files of ipfixprobe's SIP records.
//
// An IPFIX file is a sequence of IPFIX messages (RFC 7011), one after another
// (RFC 5655), as a collector such as ipfixcol2 stores them. The messages are
// decoded by ipfix_decoder (ipfix_decoder.hpp), as the IPFIX listener's are;
// the whole file is one transport session. A data set whose template has not
// been seen is skipped and counted, as a collector joining a session late
// would do.
//
// A message cut short or with a header that is not IPFIX, and every defect
// the decoder finds in a message, end the file at that point with an
// input_exception that names the message and its offset.
#include "readers.hpp"

#include "ipfix_decoder.hpp"
#include "readers_detail.hpp"

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sipdetect_cli {

namespace {

class ipfix_reader final : public record_reader {
public:
    ipfix_reader(const std::filesystem::path& p, detail::file_ptr file)
        : record_reader(p, input_format::ipfix), file_(std::move(file)), decoder_(counters_) {}

    bool next(input_record& out) override {
        if (error_) throw input_exception(*error_);
        try {
            for (;;) {
                try {
                    if (decoder_.next(out)) return true;
                } catch (const ipfix_defect& e) {
                    fail_here(e.what());
                }
                if (!read_message()) return false;
            }
        } catch (const input_exception& e) {
            error_ = e.error();
            throw;
        }
    }

private:
    [[noreturn]] void fail_here(std::string what) const {
        detail::fail(path(),
                     "message " + std::to_string(message_number_) + " (offset " + std::to_string(message_offset_) + ")",
                     std::move(what));
    }

    // Reads the next message whole and hands it to the decoder; false at a clean end of file.
    bool read_message() {
        std::array<std::uint8_t, ipfix_message_header_size> header{};
        const std::size_t got = std::fread(header.data(), 1, header.size(), file_.get());
        if (got == 0 && !std::ferror(file_.get())) return false;
        message_offset_ = file_offset_;
        ++message_number_;
        if (std::ferror(file_.get())) fail_here(std::string("read error: ") + std::strerror(errno));
        if (got < header.size()) fail_here("truncated message header (" + std::to_string(got) + " of 16 bytes)");
        const std::uint16_t version = detail::be16(header.data());
        const std::size_t length = detail::be16(header.data() + 2);
        if (version != ipfix_version)
            fail_here("version " + std::to_string(version) + ", expected 10 (IPFIX)" +
                      (version == 9 ? "; NetFlow v9 is not read" : ""));
        if (length < ipfix_message_header_size)
            fail_here("message length " + std::to_string(length) + " is shorter than its header");
        message_.resize(length);
        std::copy(header.begin(), header.end(), message_.begin());
        const std::size_t body = length - ipfix_message_header_size;
        const std::size_t read = std::fread(message_.data() + ipfix_message_header_size, 1, body, file_.get());
        if (read < body) {
            if (std::ferror(file_.get())) fail_here(std::string("read error: ") + std::strerror(errno));
            fail_here("truncated message (" + std::to_string(ipfix_message_header_size + read) + " of " +
                      std::to_string(length) + " bytes)");
        }
        file_offset_ += length;
        try {
            decoder_.start_message(0, message_);
        } catch (const ipfix_defect& e) {
            fail_here(e.what());
        }
        return true;
    }

    detail::file_ptr file_;
    ipfix_decoder decoder_;
    std::vector<std::uint8_t> message_;
    std::uint64_t message_number_ = 0, message_offset_ = 0, file_offset_ = 0;
    std::optional<input_error> error_;
};

} // namespace

std::unique_ptr<record_reader> open_ipfix_reader(const std::filesystem::path& path) {
    return std::make_unique<ipfix_reader>(path, detail::open_file(path));
}

namespace detail {
std::unique_ptr<record_reader> open_ipfix_stream(const std::string& name, file_ptr stream) {
    return std::make_unique<ipfix_reader>(name, std::move(stream));
}
} // namespace detail

} // namespace sipdetect_cli
