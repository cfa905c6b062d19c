// sipdetect command-line program: the record type its input readers produce.
//
// One input_record is one SIP message (a request, or a response whose method
// is its CSeq method). It owns its strings, so records outlive the buffers
// they were parsed from and can be collected and sorted.
#pragma once

#include <sipdetect/address.hpp>
#include <sipdetect/clock.hpp>
#include <sipdetect/record.hpp>

#include <cstdint>
#include <string>
#include <utility>

namespace sipdetect_cli {

struct input_record {
    sipdetect::record_time time{};
    sipdetect::ip_address src, dst;
    std::uint16_t src_port = 0, dst_port = 0;
    // Who put the message on the wire relative to src/dst. Captures give
    // `source`; ipfixprobe biflows and Zeek transactions keep a response in
    // the request's orientation, so it was sent by the `destination`.
    sipdetect::sender sent_by = sipdetect::sender::source;
    sipdetect::sip_method method = sipdetect::sip_method::unknown; // for a response, method = CSeq method
    std::uint16_t status = 0;                                      // 0 for a request
    std::string request_uri, from_uri, to_uri, user_agent;
    unsigned via_count = 0; // 0 when unknown
};

// Resets every field to its default but keeps the strings' capacity, so a
// buffer of records reused for record after record stops allocating once its
// strings are long enough. A member not named here is reset all the same.
inline void clear_keeping_capacity(input_record& r) noexcept {
    input_record fresh;
    const auto keep = [](std::string& used, std::string& into) noexcept {
        used.clear();
        into.swap(used);
    };
    keep(r.request_uri, fresh.request_uri);
    keep(r.from_uri, fresh.from_uri);
    keep(r.to_uri, fresh.to_uri);
    keep(r.user_agent, fresh.user_agent);
    r = std::move(fresh);
}

// The library's default record_traits read these member names directly.
static_assert(sipdetect::flow_record<input_record>, "input_record must satisfy sipdetect::flow_record");
static_assert(sipdetect::flow_record<input_record>);

} // namespace sipdetect_cli
