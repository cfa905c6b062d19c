// The sipdetect program's time-ordered stream reuses its buffered records:
// in steady state it allocates nothing beyond what the file's reader does.
#include "catch.hpp"
#include "counting_allocator.hpp"

#include "sipdetect/readers.hpp"

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <unistd.h>

namespace {

// An ipfixprobe CSV of `n` OPTIONS requests whose strings are all too long
// for the short-string buffer, so that each one reset to empty would
// allocate again.
std::filesystem::path write_csv(std::size_t n) {
    const auto path = std::filesystem::temp_directory_path() /
                      ("sipdetect_stream_allocations_" + std::to_string(::getpid()) + ".csv");
    std::ofstream out(path);
    for (std::size_t i = 0; i < n; ++i) {
        const std::string user = "subscriber-" + std::to_string(100000 + i);
        out << "10.0.0.2,10.0.0.1,5060,5061,2020-01-01T00:00:" << 10 + i / 100 << "." << 100000 + i % 100 * 1000
            << ",1,0,6,0,\"sip:" << user << "@voip.example.net\",\"sip:caller-with-a-long-name@example.org\",\""
            << user << "@call.example.net\",\"1 OPTIONS\",\"sip:" << user
            << "@voip.example.net\",\"a user agent longer than fifteen bytes\",\"SIP/2.0/UDP 10.0.0.1:5061\"\n";
    }
    out << "ipaddr DST_IP,ipaddr SRC_IP,uint16 DST_PORT,uint16 SRC_PORT,time TIME_FIRST,uint32 PACKETS,"
           "uint32 PACKETS_REV,uint16 SIP_MSG_TYPE,uint16 SIP_STATUS_CODE,string SIP_CALLED_PARTY,"
           "string SIP_CALLING_PARTY,string SIP_CALL_ID,string SIP_CSEQ,string SIP_REQUEST_URI,string SIP_USER_AGENT,"
           "string SIP_VIA\n";
    return path;
}

constexpr std::size_t warm_up = 200, counted = 1000;

// Allocations while `next` fills one reused record `counted` times, after `warm_up` records.
template <class Next> std::size_t allocations_per_span(Next&& next) {
    sipdetect_cli::input_record r;
    for (std::size_t i = 0; i < warm_up; ++i) REQUIRE(next(r));
    const std::size_t before = counting::allocations.load();
    for (std::size_t i = 0; i < counted; ++i)
        if (!next(r)) return static_cast<std::size_t>(-1);
    return counting::allocations.load() - before;
}

} // namespace

TEST_CASE("the time-ordered stream allocates nothing per record beyond its file's reader") {
    if (!counting::active) {
        WARN("SKIPPED: the sanitizer owns the allocator, allocations cannot be counted in this build");
        return;
    }
    const auto csv = write_csv(warm_up + counted + 100);
    const auto reader = sipdetect_cli::open_reader(csv);
    const std::size_t by_reader = allocations_per_span([&](auto& r) { return reader->next(r); });
    // A window of 16 records: each record passed on makes room for one read from the file.
    sipdetect_cli::time_ordered_stream stream({csv}, 16);
    const std::size_t by_stream = allocations_per_span([&](auto& r) { return stream.next(r); });
    std::filesystem::remove(csv);
    CHECK(by_stream != static_cast<std::size_t>(-1));
    CHECK(by_stream <= by_reader);
    // And the count does count: records that do not reuse their strings allocate for each.
    const std::size_t before = counting::allocations.load();
    for (std::size_t i = 0; i < 100; ++i) {
        sipdetect_cli::input_record fresh;
        fresh.from_uri = "sip:caller-with-a-long-name@example.org";
    }
    CHECK(counting::allocations.load() - before == 100);
}
