// The reorder buffer of the program's streams and the ipfixcol2 plugin passes
// records on in the order the program's time_ordered_stream gives a file: a
// window of records, the earliest first (at equal times a request first, then
// arrival order).
#include "input_record.hpp"
#include "reorder_buffer.hpp"

#ifdef SIPDETECT_CATCH2_V3
#include <catch2/catch_test_macros.hpp>
#else
#include <catch2/catch.hpp>
#endif

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <tuple>
#include <vector>

using sipdetect_cli::input_record;
using sipdetect_cli::reorder_buffer;

namespace {

struct arrival {
    std::int64_t micros;
    bool response;
};

input_record record_of(const arrival& a, unsigned tag) {
    input_record r;
    r.time = sipdetect::record_time_from_micros(a.micros);
    r.status = a.response ? 200 : 0;
    r.via_count = tag; // identifies the record on the way out
    r.from_uri = "sip:" + std::to_string(tag) + "@example.org";
    return r;
}

// The program's order: fill the window, then take the earliest for each record read.
std::vector<unsigned> model_order(const std::vector<arrival>& in, std::size_t window) {
    window = std::max<std::size_t>(window, 1);
    using key = std::tuple<std::int64_t, bool, unsigned>;
    std::vector<key> held;
    std::vector<unsigned> out;
    const auto take_earliest = [&] {
        const auto it = std::min_element(held.begin(), held.end());
        out.push_back(std::get<2>(*it));
        held.erase(it);
    };
    for (unsigned i = 0; i < in.size(); ++i) {
        held.emplace_back(in[i].micros, in[i].response, i);
        if (held.size() >= window) take_earliest();
    }
    while (!held.empty()) take_earliest();
    return out;
}

std::vector<unsigned> buffer_order(const std::vector<arrival>& in, reorder_buffer& buffer) {
    std::vector<unsigned> out;
    input_record released;
    for (unsigned i = 0; i < in.size(); ++i) {
        buffer.next_slot() = record_of(in[i], i);
        buffer.keep();
        while (buffer.must_release()) {
            buffer.release_earliest(released);
            out.push_back(released.via_count);
            CHECK(released.from_uri == "sip:" + std::to_string(released.via_count) + "@example.org");
        }
    }
    while (!buffer.empty()) {
        buffer.release_earliest(released);
        out.push_back(released.via_count);
    }
    return out;
}

} // namespace

TEST_CASE("reorder buffer: the program's window order, for any window") {
    std::mt19937_64 random(20261207);
    std::vector<arrival> in;
    for (int i = 0; i < 3000; ++i) {
        // Mostly in order, some records far behind, many equal times.
        const std::int64_t base = i * 1000;
        const std::int64_t late = random() % 10 == 0 ? static_cast<std::int64_t>(random() % 2'000'000) : 0;
        in.push_back({(base - late) / 5000 * 5000, random() % 3 == 0});
    }
    for (const std::size_t window : {std::size_t{0}, std::size_t{1}, std::size_t{2}, std::size_t{7}, std::size_t{64},
                                     std::size_t{1000}, std::size_t{65536}}) {
        reorder_buffer buffer(window, std::size_t{64} << 20);
        INFO("window " << window);
        CHECK(buffer_order(in, buffer) == model_order(in, window));
    }
}

TEST_CASE("reorder buffer: a window of one passes records on as they come") {
    reorder_buffer buffer(1, std::size_t{64} << 20);
    const std::vector<arrival> in{{5, false}, {3, true}, {3, false}, {1, false}};
    CHECK(buffer_order(in, buffer) == std::vector<unsigned>{0, 1, 2, 3});
}

TEST_CASE("reorder buffer: at equal times a request before a response, then arrival order") {
    reorder_buffer buffer(100, std::size_t{64} << 20);
    const std::vector<arrival> in{{7, true}, {7, false}, {7, true}, {2, true}, {7, false}};
    CHECK(buffer_order(in, buffer) == std::vector<unsigned>{3, 1, 4, 0, 2});
}

TEST_CASE("reorder buffer: held text beyond the cap makes the earliest records leave") {
    reorder_buffer buffer(65536, 1000);
    input_record released;
    for (unsigned i = 0; i < 10; ++i) {
        input_record& r = buffer.next_slot();
        r.time = sipdetect::record_time_from_micros(100 - i);
        r.user_agent.assign(300, 'x');
        buffer.keep();
    }
    // 3000 bytes held: above the cap until 3 records remain (900 bytes).
    std::vector<std::int64_t> left;
    while (buffer.must_release()) {
        buffer.release_earliest(released);
        left.push_back(sipdetect::micros_of(released.time));
    }
    CHECK(left == std::vector<std::int64_t>{91, 92, 93, 94, 95, 96, 97});
    CHECK(buffer.size() == 3);
}

TEST_CASE("reorder buffer: slots and released records give back the memory of long strings") {
    input_record r;
    r.request_uri.assign(65000, 'u');
    r.from_uri = "sip:short@example.org";
    r.from_uri.reserve(200);
    sipdetect_cli::shed_large_strings(r);
    CHECK(r.request_uri.capacity() <= 256);
    CHECK(r.request_uri.empty());
    CHECK(r.from_uri == "sip:short@example.org"); // short strings are kept
}
