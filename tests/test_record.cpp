// The flow-record model: three adaptations, both orientations, URI users.
#include "catch.hpp"
#include "ipfixprobe_record.hpp"
#include "test_support.hpp"

#include <sipdetect/scan_detector.hpp>

using namespace sipdetect;

// 1. A minimal user struct: conventional member names, no specialisation.
struct minimal_record {
    record_time time;
    ip_address src, dst;
    std::uint16_t dst_port;
    sip_method method;
    std::string_view from_uri, to_uri;
};
static_assert(flow_record<minimal_record>);

// 2. A Flowmon-style per-flow counter record (sipStats packs one 8-bit
//    counter per message kind), described by a specialisation.
struct flowmon_flow {
    std::int64_t start_ms = 0;
    std::uint32_t src_ipv4 = 0, dst_ipv4 = 0;
    std::uint16_t src_port = 0, dst_port = 0;
    std::uint64_t sip_stats = 0; // byte 0 REGISTER, 1 OPTIONS, 2 INVITE, 3 other, 4 2xx, 5 error responses
    std::string calling_party, called_party;
};
template <>
struct sipdetect::record_traits<flowmon_flow> {
    static record_time time(const flowmon_flow& f) { return record_time_from_micros(f.start_ms * 1000); }
    static ip_address source(const flowmon_flow& f) { return ip_address::from_v4(f.src_ipv4); }
    static ip_address destination(const flowmon_flow& f) { return ip_address::from_v4(f.dst_ipv4); }
    static std::uint16_t destination_port(const flowmon_flow& f) { return f.dst_port; }
    static sip_counters counters(const flowmon_flow& f) {
        auto byte = [&](int i) { return static_cast<std::uint32_t>((f.sip_stats >> (8 * i)) & 0xff); };
        return sip_counters{byte(0), byte(1), byte(2), byte(3), byte(4), byte(5)};
    }
    static std::string_view from_uri(const flowmon_flow& f) { return f.calling_party; }
    static std::string_view to_uri(const flowmon_flow& f) { return f.called_party; }
};
static_assert(flow_record<flowmon_flow>);

// 3. A collector's record with one member named differently: a specialisation
//    inherits the default traits and renames only that accessor. Members of
//    known names declared `int` are read, not silently ignored.
struct collector_flow {
    record_time time;
    ip_address source_ip, dst;
    int src_port = 0, dst_port = 0;
    sip_method method = sip_method::unknown;
    int status = 0;
    std::string from_uri, to_uri;
    int via_count = 0;
};
template <>
struct sipdetect::record_traits<collector_flow> : sipdetect::default_record_traits<collector_flow> {
    static ip_address source(const collector_flow& f) { return f.source_ip; }
};
static_assert(flow_record<collector_flow>);
static_assert(record_fields<collector_flow>::status && record_fields<collector_flow>::via_count &&
              record_fields<collector_flow>::source_port);
static_assert(!record_fields<collector_flow>::user_agent && !record_fields<collector_flow>::request_uri);
static_assert(!record_fields<minimal_record>::status && !record_fields<minimal_record>::via_count);
static_assert(flow_record<ipfixprobe_record>);
static_assert(!flow_record<int>);

TEST_CASE("minimal record: the source of a request is the client") {
    minimal_record r{at_seconds(1), ip("10.0.0.1"), ip("10.0.0.2"), 5060, sip_method::options, "sip:a@x", "sip:b@y"};
    const detail::record_view v = detail::make_view(r);
    CHECK(v.client == ip("10.0.0.1"));
    CHECK(v.server == ip("10.0.0.2"));
    CHECK(v.server_port == 5060);
    CHECK(v.method == sip_method::options);
    CHECK_FALSE(v.is_response());
    CHECK(v.via_count == 0); // unknown
}

TEST_CASE("both orientations of a response name the same client and server") {
    const msg req = request(1, "147.32.77.113", "195.113.172.39", sip_method::register_, "6001");
    const detail::record_view as_sent = detail::make_view(response(req, 2, 401));
    const detail::record_view biflow = detail::make_view(response_biflow(req, 2, 401));
    for (const detail::record_view& v : {as_sent, biflow}) {
        CHECK(v.client == ip("147.32.77.113"));
        CHECK(v.server == ip("195.113.172.39"));
        CHECK(v.server_port == 5060);
        CHECK(v.status == 401);
        CHECK(v.method == sip_method::register_);
    }
}

TEST_CASE("ipfixprobe-style record through a traits specialisation") {
    ipfixprobe_record r;
    r.SRC_IP = ip("147.32.77.113");
    r.DST_IP = ip("195.113.172.39");
    r.SRC_PORT = 5060;
    r.DST_PORT = 5060;
    r.PACKETS = 0;
    r.PACKETS_REV = 1;
    r.SIP_MSG_TYPE = 99;
    r.SIP_STATUS_CODE = 200;
    r.SIP_CSEQ = "2 REGISTER";
    r.SIP_CALLED_PARTY = "sip:6001@195.113.172.39";
    r.SIP_VIA = "SIP/2.0/UDP 127.0.1.1:5060";
    const detail::record_view v = detail::make_view(r);
    CHECK(v.client == ip("147.32.77.113"));
    CHECK(v.server == ip("195.113.172.39"));
    CHECK(v.status == 200);
    CHECK(v.method == sip_method::register_);
    CHECK(v.via_count == 1);

    r.PACKETS = 1;
    r.PACKETS_REV = 0;
    r.SIP_MSG_TYPE = 5;
    r.SIP_STATUS_CODE = 0;
    const detail::record_view req = detail::make_view(r);
    CHECK(req.client == ip("147.32.77.113"));
    CHECK(req.method == sip_method::register_);
    CHECK_FALSE(req.is_response());
}

TEST_CASE("Flowmon-style counter record feeds the scan detector") {
    scan_config cfg;
    cfg.threshold = 3;
    scan_detector<flowmon_flow> d(cfg);
    for (std::uint32_t host = 1; host <= 3; ++host) {
        flowmon_flow f;
        f.start_ms = 1000 * host;
        f.src_ipv4 = 0xc0000201; // 192.0.2.1
        f.dst_ipv4 = 0xc6336400 + host;
        f.dst_port = 5060;
        f.sip_stats = 2u /* REGISTER */ | (2ull << 40) /* 2 error responses */;
        f.called_party = "sip:100@example.com";
        f.calling_party = "sip:100@example.com";
        d.feed(f);
    }
    const auto events = d.poll();
    REQUIRE(events.size() == 1);
    CHECK(events[0].source == ip("192.0.2.1"));
    CHECK(events[0].submethod == scan_submethod::register_);
    CHECK(events[0].hosts == 3);
    CHECK(events[0].requests == 6);
    CHECK(events[0].failed_targets == 3);
    CHECK(events[0].kind == scan_kind::horizontal);
}

TEST_CASE("counter record: the source is the requester") {
    flowmon_flow f;
    f.src_ipv4 = 0x0a000001;
    f.dst_ipv4 = 0x0a000002;
    f.dst_port = 5060;
    f.sip_stats = 1;
    const detail::record_view v = detail::make_view(f);
    CHECK(v.is_counters);
    CHECK(v.client == ip("10.0.0.1"));
    CHECK(v.counters.register_requests == 1);
}

TEST_CASE("a view filled in place keeps nothing of the record before") {
    // feed_all() refills a ring of views field by field: a field the new
    // record does not have must not survive from the old one.
    msg rich = response(request(1, "192.0.2.1", "192.0.2.2", sip_method::invite, "100"), 2, 486);
    rich.user_agent = "friendly-scanner";
    rich.via_count = 3;
    flowmon_flow counters;
    counters.src_ipv4 = 0x0a000001;
    counters.sip_stats = 0x0101;
    const minimal_record plain{at_seconds(5), ip("10.0.0.1"), ip("10.0.0.2"), 5080, sip_method::options, "sip:a@x",
                               "sip:b@y"};

    for (int previous = 0; previous < 2; ++previous) {
        detail::record_view v;
        if (previous == 0) detail::fill_view(rich, v);
        else detail::fill_view(counters, v);
        REQUIRE((v.is_response() || v.is_counters));
        detail::fill_view(plain, v);
        CHECK(v.time == at_seconds(5));
        CHECK(v.client == ip("10.0.0.1"));
        CHECK(v.server == ip("10.0.0.2"));
        CHECK(v.client_port == 0);
        CHECK(v.server_port == 5080);
        CHECK_FALSE(v.is_counters);
        CHECK(v.counters.register_requests == 0);
        CHECK(v.counters.options_requests == 0);
        CHECK(v.method == sip_method::options);
        CHECK(v.status == 0);
        CHECK(v.from_uri == "sip:a@x");
        CHECK(v.to_uri == "sip:b@y");
        CHECK(v.request_uri.empty());
        CHECK(v.user_agent.empty());
        CHECK(v.via_count == 0);
    }
    detail::record_view v;
    detail::fill_view(rich, v);
    detail::fill_view(counters, v);
    CHECK(v.is_counters);
    CHECK(v.method == sip_method::unknown);
    CHECK(v.status == 0);
    CHECK(v.user_agent.empty());
    CHECK(v.via_count == 0);
    CHECK(v.counters.options_requests == 1);
}

TEST_CASE("uri_user") {
    CHECK(uri_user("sip:alice@example.com") == "alice");
    CHECK(uri_user("sips:bob@[2001:db8::1]:5061") == "bob");
    CHECK(uri_user("sip:example.com") == "");
    CHECK(uri_user("tel:+420123456;phone-context=x") == "+420123456");
    CHECK(uri_user("\"Display\" <sip:carol@x;transport=udp>") == "carol");
    CHECK(uri_user("sip:dave:secret@x") == "dave");
    CHECK(uri_user("") == "");
    CHECK(uri_user("garbage") == "");
    CHECK(uri_user("TEL:+1;x=y") == "+1");
    CHECK(uri_user("tels:+1@x") == "+1"); // not the tel scheme: the user before '@'
    CHECK(uri_user("<sip:erin@x") == "erin"); // an unclosed bracket keeps the rest
    CHECK(uri_user("sip:@x") == "");
    CHECK(uri_user("sip:frank") == "");
    static_assert(uri_user("sip:gina@x") == "gina");
}

TEST_CASE("uri_host") {
    CHECK(uri_host("sip:alice@example.com") == "example.com");
    CHECK(uri_host("\"sipvicious\"<sip:100@[fd00:5ec::101]>;tag=6664") == "fd00:5ec::101");
    CHECK(uri_host("sips:bob@[2001:db8::1]:5061") == "2001:db8::1");
    CHECK(uri_host("sip:100@127.0.0.101:5060;transport=udp") == "127.0.0.101");
    CHECK(uri_host("sip:gw.example.net;lr") == "gw.example.net");
    CHECK(uri_host("sip:dave:secret@x?subject=y") == "x");
    CHECK(uri_host("sip:100@[fd00::1") == "fd00::1"); // unclosed: to the end
    CHECK(uri_host("") == "");
    CHECK(uri_host("garbage") == "");
    static_assert(uri_host("sip:gina@x:5060") == "x");
}

TEST_CASE("head and until cut a view without throwing") {
    CHECK(detail::head("abc", 2) == "ab");
    CHECK(detail::head("abc", 9) == "abc");
    CHECK(detail::head("", 0).empty());
    CHECK(detail::until("a;b;c", ';') == "a");
    CHECK(detail::until("abc", ';') == "abc");
}

TEST_CASE("sip method tokens are case-sensitive and CSeq methods parse") {
    CHECK(parse_sip_method("REGISTER") == sip_method::register_);
    CHECK(parse_sip_method("register") == sip_method::unknown);
    CHECK(cseq_method("1 INVITE") == sip_method::invite);
    CHECK(cseq_method("") == sip_method::unknown);
    CHECK(to_string(sip_method::options) == "OPTIONS");
    CHECK(to_string(sip_method::update) == "UPDATE");
    CHECK(to_string(static_cast<sip_method>(15)) == "UNKNOWN");
    CHECK(to_string(static_cast<sip_method>(255)) == "UNKNOWN");
}

TEST_CASE("inherited traits: a renamed member, and int members of known names, are read") {
    collector_flow f{at_seconds(1), ip("10.0.0.2"), ip("10.0.0.1"), 5060, 40000, sip_method::register_, 404,
                     "sip:a@x", "sip:a@x", 2};
    const detail::record_view v = detail::make_view(f);
    CHECK(v.is_response());
    CHECK(v.status == 404);
    CHECK(v.client == ip("10.0.0.1")); // a response: the destination is the requester
    CHECK(v.client_port == 40000);
    CHECK(v.via_count == 2);

    // Values no field can hold are not taken for something else: a negative
    // or huge status is an impossible code (counted as malformed), not a
    // request; a port outside 0-65535 and a negative Via count read as unknown.
    f.status = -1;
    f.src_port = 70000;
    f.via_count = -3;
    const detail::record_view odd = detail::make_view(f);
    CHECK(odd.is_response());
    CHECK(odd.status == 0xffff);
    CHECK(odd.server_port == 0);
    CHECK(odd.via_count == 0);
    scan_detector<collector_flow> scans;
    scans.feed(f);
    CHECK(scans.stats().malformed_dropped == 1);
    CHECK(scans.stats().requests == 0);
}
