// sipdetect command-line program: the IPFIX message decoder that the IPFIX
// file reader (ipfix_reader.cpp) and the IPFIX listener (ipfix_listener.cpp)
// share.
//
// It takes whole IPFIX messages (RFC 7011), each tagged with the transport
// session it came from, and returns the SIP records their data sets hold,
// one at a time. Templates are kept per transport session and observation
// domain, so that two exporters using the same template id never see each
// other's templates; a file is one session. A data record is a SIP message
// when its template has ipfixprobe's SIP elements (CESNET, enterprise 8057:
// 100 SIPMsgType, 101 SIPStatusCode, 102 SIPCallID, 103 SIPCallingParty,
// 104 SIPCalledParty, 105 SIPVia, 106 SIPUserAgent, 107 SIPRequestURI,
// 108 SIPCseq); records of other templates are counted as skipped.
//
// The traps of ipfixprobe's CSV output (ipfixprobe_reader.cpp) apply here too:
// the record time is the flow end (flowEnd*), since the SIP plugin cuts a
// flow at each message and the flow start can be an earlier packet's time;
// and a biflow keeps a response in the request's orientation (packetDeltaCount
// 0, its reverse, enterprise 29305, above 0), so such a record was sent by the
// destination.
//
// A set or field that runs past its message, a NetFlow v9 set id, an
// impossible template or too many templates make the message defective: the
// decoder throws ipfix_defect, naming the place in the message, and the
// message's remaining records are not decoded (those returned before stay
// valid). Sets with ids reserved for future use (4-255) are skipped and
// counted; options templates are kept (their withdrawal must work) but their
// records are skipped.
#pragma once

#include "input_record.hpp"
#include "ipfix_elements.hpp"
#include "readers.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace sipdetect_cli {

// A defect of one IPFIX message; what() says what and where in the message.
class ipfix_defect : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

inline constexpr std::size_t ipfix_message_header_size = 16;
inline constexpr std::uint16_t ipfix_version = 10;

class ipfix_decoder {
public:
    using clock = std::chrono::steady_clock;

    // The decoder counts into `counters` (ipfix_messages, ipfix_templates,
    // sets_without_template, reserved_sets, sip_messages, records,
    // skipped_records), which must outlive it.
    explicit ipfix_decoder(reader_counters& counters) noexcept : counters_(counters) {}
    ipfix_decoder(const ipfix_decoder&) = delete;
    ipfix_decoder& operator=(const ipfix_decoder&) = delete;

    // Starts on one whole message, header included, of transport session
    // `session`, received at `now` (the time a template defined in it is
    // refreshed). The bytes are copied. Throws ipfix_defect when the header is
    // not an IPFIX header whose length is the message's size.
    void start_message(std::uint64_t session, std::span<const std::uint8_t> message, clock::time_point now = {});

    // The message's next SIP record; false when the message holds no more.
    // Throws ipfix_defect at a defect; the message then holds no more records.
    bool next(input_record& out);

    // Forgets every template of a session (a TCP connection that closed).
    void forget_session(std::uint64_t session);
    // Forgets the session's templates last defined before `cutoff` (UDP
    // template expiry, RFC 7011 §8.4); returns how many.
    std::size_t expire_templates(std::uint64_t session, clock::time_point cutoff);
    // Templates kept, over every session.
    std::size_t templates() const noexcept { return templates_.size(); }
    bool has_templates(std::uint64_t session) const;

    // A collector keeps every template of its sessions; more than this is
    // broken or hostile, and would otherwise grow memory without bound.
    static constexpr std::size_t max_templates = 4096;
    static constexpr std::size_t max_template_fields = std::size_t{1} << 20; // 12 MB of field descriptions in all

private:
    // What a template field means: the program and the ipfixcol2 plugin share the meanings.
    using role = ipfix::role;
    struct template_field {
        std::uint32_t pen = 0;
        std::uint16_t id = 0;
        std::uint16_t length = 0; // 0xffff for variable-length encoding
        role meaning = role::ignored;
    };
    struct ipfix_template {
        std::vector<template_field> fields;
        std::size_t min_record_length = 0; // a shorter tail of a data set is padding
        bool sip = false;                  // carries SIPMsgType: its records are SIP messages
        bool options = false;
        std::optional<role> time_field; // the field the record time comes from
        clock::time_point defined{};
    };
    struct template_key {
        std::uint64_t session;
        std::uint32_t domain;
        std::uint16_t id;
        auto operator<=>(const template_key&) const = default;
    };
    using template_map = std::map<template_key, ipfix_template>;

    [[noreturn]] void fail_here(const std::string& what) const;
    std::string set_place() const { return "set at byte " + std::to_string(set_start_) + " of the message"; }
    void start_set();
    std::span<const std::uint8_t> bytes(std::size_t at, std::size_t n) const {
        return std::span<const std::uint8_t>(message_).subspan(at, n);
    }
    std::uint64_t take(std::size_t n, const char* what);
    void read_templates(bool options);
    void check_field(std::uint16_t template_id, const template_field& f) const;
    void define(std::uint16_t id, ipfix_template t);
    void withdraw(std::uint16_t id, bool options);
    template_map::iterator erase_template(template_map::iterator it);
    bool decode_record(const ipfix_template& t, input_record& r);
    sipdetect::record_time time_of(role field, std::uint64_t v) const;

    reader_counters& counters_;
    std::vector<std::uint8_t> message_;
    std::uint64_t session_ = 0;
    std::uint32_t domain_ = 0;
    clock::time_point now_{};
    std::size_t pos_ = 0, set_start_ = 0, set_end_ = 0;
    template_map templates_;
    std::size_t template_fields_ = 0;               // fields of every template in templates_
    const ipfix_template* data_template_ = nullptr; // the template of the data set being read
};

} // namespace sipdetect_cli
