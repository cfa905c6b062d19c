// The sensor's live inputs other than capture: the IPFIX decoder's template
// store, the IPFIX listener (TCP and UDP on 127.0.0.1, fed by sockets of the
// test), standard input and other streams (pipes), followed logs (appended,
// rotated, truncated), and the reorder buffer that puts them in record time.
#include "catch.hpp"
#include "temp_dir.hpp"
#include "ipfix_writer.hpp"

#include "sipdetect/ipfix_decoder.hpp"
#include "sipdetect/ipfix_listener.hpp"
#include "sipdetect/readers.hpp"
#include "sipdetect/reorder_source.hpp"
#include "sipdetect/stream_source.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace ipfix_writer;
using sipdetect_cli::input_record;
using sipdetect_cli::live_source;

namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

std::vector<input_record> records_of(const std::filesystem::path& file) {
    auto reader = sipdetect_cli::open_reader(file);
    std::vector<input_record> out;
    input_record r;
    while (reader->next(r)) out.push_back(r);
    return out;
}

// Pulls records until `count` came, the source ended, or `limit` passed (then fewer came).
std::vector<input_record> pull(live_source& s, std::size_t count, steady::duration limit = 10s) {
    std::vector<input_record> got;
    const auto deadline = steady::now() + limit;
    input_record r;
    while (got.size() < count && steady::now() < deadline) {
        const live_source::pull p = s.next(r);
        if (p == live_source::pull::record) {
            got.push_back(r);
            continue;
        }
        if (p == live_source::pull::ended) break;
        pollfd w{s.wait_fd(), POLLIN, 0};
        (void)::poll(&w, 1, 50);
    }
    return got;
}

// Pulls until the source ends (or `limit` passes: then the check on the result fails).
std::pair<std::vector<input_record>, bool> pull_to_end(live_source& s, steady::duration limit = 10s) {
    std::vector<input_record> got;
    const auto deadline = steady::now() + limit;
    input_record r;
    while (steady::now() < deadline) {
        const live_source::pull p = s.next(r);
        if (p == live_source::pull::record) got.push_back(r);
        else if (p == live_source::pull::ended) return {got, true};
        else {
            pollfd w{s.wait_fd(), POLLIN, 0};
            (void)::poll(&w, 1, 50);
        }
    }
    return {got, false};
}

void check_same_records(const std::vector<input_record>& a, const std::vector<input_record>& b) {
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        INFO("record " << i);
        CHECK(a[i].time == b[i].time);
        CHECK(a[i].src == b[i].src);
        CHECK(a[i].dst == b[i].dst);
        CHECK(a[i].src_port == b[i].src_port);
        CHECK(a[i].dst_port == b[i].dst_port);
        CHECK(a[i].sent_by == b[i].sent_by);
        CHECK(a[i].method == b[i].method);
        CHECK(a[i].status == b[i].status);
        CHECK(a[i].request_uri == b[i].request_uri);
        CHECK(a[i].from_uri == b[i].from_uri);
        CHECK(a[i].to_uri == b[i].to_uri);
        CHECK(a[i].user_agent == b[i].user_agent);
        CHECK(a[i].via_count == b[i].via_count);
    }
}

// A REGISTER from `source` (IPv4 or IPv6 text) to a registrar, one per second from t0.
std::vector<input_record> registers(const std::string& source, const std::string& registrar, int count, int t0 = 1'700'000'000) {
    std::vector<input_record> out;
    for (int i = 0; i < count; ++i) {
        input_record r;
        r.time = sipdetect::record_time_from_micros(static_cast<std::int64_t>(t0 + i) * 1'000'000);
        r.src = sipdetect::ip_address::parse(source);
        r.dst = sipdetect::ip_address::parse(registrar);
        r.src_port = 5070;
        r.dst_port = 5060;
        r.method = sipdetect::sip_method::register_;
        r.request_uri = "sip:" + registrar;
        r.from_uri = "sip:" + std::to_string(100 + i) + "@example.net";
        r.to_uri = r.from_uri;
        r.user_agent = "friendly-scanner";
        r.via_count = 1;
        out.push_back(r);
    }
    return out;
}

// An exporter's stream: template `id` (ipfixprobe's IPv4 or IPv6 layout) in
// the first message, then `per_message` records per message.
std::vector<std::string> exporter_messages(const std::vector<input_record>& records, bool v6, std::uint16_t id = 258,
                                           std::uint32_t domain = 7, std::size_t per_message = 4) {
    std::vector<std::string> messages;
    std::string data;
    for (std::size_t i = 0; i < records.size(); ++i) {
        data += ipfixprobe_sip_record(records[i], ipfixprobe_msg_type(records[i]), "1 REGISTER");
        if ((i + 1) % per_message == 0 || i + 1 == records.size()) {
            std::vector<std::string> sets;
            if (messages.empty()) sets.push_back(ipfix_set(2, ipfix_template_record(id, ipfixprobe_sip_template(v6))));
            sets.push_back(ipfix_set(id, data));
            messages.push_back(ipfix_message(domain, sets, static_cast<std::uint32_t>(i)));
            data.clear();
        }
    }
    return messages;
}
std::string joined(const std::vector<std::string>& parts) {
    std::string all;
    for (const auto& p : parts) all += p;
    return all;
}

std::span<const std::uint8_t> bytes_of(const std::string& s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// ---------------------------------------------------------------------------
// Sockets of the test, on 127.0.0.1 only

class socket_fd {
public:
    explicit socket_fd(int fd) : fd_(fd) { REQUIRE(fd_ >= 0); }
    ~socket_fd() { close(); }
    socket_fd(const socket_fd&) = delete;
    socket_fd& operator=(const socket_fd&) = delete;
    int get() const { return fd_; }
    void close() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

private:
    int fd_;
};

sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

std::unique_ptr<socket_fd> tcp_connect(std::uint16_t port) {
    auto s = std::make_unique<socket_fd>(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    const sockaddr_in a = loopback(port);
    const void* raw = &a;
    REQUIRE(::connect(s->get(), static_cast<const sockaddr*>(raw), sizeof a) == 0);
    return s;
}

void send_all(int fd, const std::string& bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
        const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
        REQUIRE(n > 0);
        sent += static_cast<std::size_t>(n);
    }
}

std::unique_ptr<socket_fd> udp_sender() {
    auto s = std::make_unique<socket_fd>(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    const sockaddr_in a = loopback(0);
    const void* raw = &a;
    REQUIRE(::bind(s->get(), static_cast<const sockaddr*>(raw), sizeof a) == 0);
    return s;
}

void send_datagram(const socket_fd& s, std::uint16_t port, const std::string& bytes) {
    const sockaddr_in a = loopback(port);
    const void* raw = &a;
    REQUIRE(::sendto(s.get(), bytes.data(), bytes.size(), 0, static_cast<const sockaddr*>(raw), sizeof a) ==
            static_cast<ssize_t>(bytes.size()));
}

// Whether the listener closed the peer's connection within `limit`.
bool closed_by_peer(const socket_fd& s, steady::duration limit, sipdetect_cli::ipfix_listener& listener) {
    const auto deadline = steady::now() + limit;
    while (steady::now() < deadline) {
        input_record r;
        (void)listener.next(r);
        pollfd w{s.get(), POLLIN, 0};
        if (::poll(&w, 1, 50) > 0) {
            char c = 0;
            const ssize_t n = ::recv(s.get(), &c, 1, MSG_DONTWAIT);
            if (n == 0 || (n < 0 && errno == ECONNRESET)) return true;
        }
    }
    return false;
}

template <class F> std::string error_of(F f) {
    try {
        f();
    } catch (const std::exception& e) {
        return e.what();
    }
    return {};
}

sipdetect_cli::ipfix_listener tcp_listener() {
    return sipdetect_cli::ipfix_listener(sipdetect_cli::parse_ipfix_listen_address("tcp:127.0.0.1:0"), 1800s);
}

} // namespace

// ---------------------------------------------------------------------------
// The decoder's template store

TEST_CASE("ipfix decoder: the same template id in two sessions keeps two templates") {
    sipdetect_cli::reader_counters c;
    sipdetect_cli::ipfix_decoder d(c);
    const auto v4 = registers("10.0.0.1", "192.0.2.10", 3);
    const auto v6 = registers("2001:db8::1", "2001:db8::10", 2);
    const auto a = exporter_messages(v4, false, 300, 1, 8);
    const auto b = exporter_messages(v6, true, 300, 1, 8);
    REQUIRE(a.size() == 1);
    REQUIRE(b.size() == 1);
    std::vector<input_record> got;
    input_record r;
    d.start_message(1, bytes_of(a[0]));
    while (d.next(r)) got.push_back(r);
    d.start_message(2, bytes_of(b[0]));
    while (d.next(r)) got.push_back(r);
    CHECK(d.templates() == 2);
    std::vector<input_record> expected = v4;
    expected.insert(expected.end(), v6.begin(), v6.end());
    check_same_records(got, expected);

    // Data of session 1 after session 2 defined its own 300: still read with session 1's template.
    const std::string more = ipfix_message(1, {ipfix_set(300, ipfixprobe_sip_record(v4[0], 5, "1 REGISTER"))});
    d.start_message(1, bytes_of(more));
    REQUIRE(d.next(r));
    CHECK(r.src == v4[0].src);
    CHECK_FALSE(d.next(r));

    // Another session without a template: its data set is skipped and counted.
    d.start_message(3, bytes_of(more));
    CHECK_FALSE(d.next(r));
    CHECK(c.sets_without_template == 1);

    d.forget_session(1);
    CHECK(d.templates() == 1);
    CHECK_FALSE(d.has_templates(1));
    CHECK(d.has_templates(2));
}

TEST_CASE("ipfix decoder: withdrawals of one template, of all templates, of all options templates") {
    sipdetect_cli::reader_counters c;
    sipdetect_cli::ipfix_decoder d(c);
    input_record r;
    const auto t = [](std::uint16_t id) { return ipfix_template_record(id, ipfixprobe_sip_template(false)); };
    const std::string options_template = ipfix_template_record(400, {{149, 4}, {41, 8}}, 1);
    d.start_message(5, bytes_of(ipfix_message(1, {ipfix_set(2, t(300) + t(301)), ipfix_set(3, options_template)})));
    CHECK_FALSE(d.next(r));
    d.start_message(5, bytes_of(ipfix_message(2, {ipfix_set(2, t(300))})));
    CHECK_FALSE(d.next(r));
    CHECK(d.templates() == 4);

    std::string withdraw_301;
    put_be16(withdraw_301, 301);
    put_be16(withdraw_301, 0);
    d.start_message(5, bytes_of(ipfix_message(1, {ipfix_set(2, withdraw_301)})));
    CHECK_FALSE(d.next(r));
    CHECK(d.templates() == 3);

    // Withdraw all options templates of domain 1: the data template 300 stays.
    std::string all_options;
    put_be16(all_options, 3);
    put_be16(all_options, 0);
    d.start_message(5, bytes_of(ipfix_message(1, {ipfix_set(3, all_options)})));
    CHECK_FALSE(d.next(r));
    CHECK(d.templates() == 2);

    // Withdraw all (data) templates of domain 1: domain 2's stays.
    std::string all;
    put_be16(all, 2);
    put_be16(all, 0);
    d.start_message(5, bytes_of(ipfix_message(1, {ipfix_set(2, all)})));
    CHECK_FALSE(d.next(r));
    CHECK(d.templates() == 1);
    const auto rec = registers("10.0.0.1", "192.0.2.10", 1);
    d.start_message(5, bytes_of(ipfix_message(1, {ipfix_set(300, ipfixprobe_sip_record(rec[0], 5, "1 REGISTER"))})));
    CHECK_FALSE(d.next(r));
    d.start_message(5, bytes_of(ipfix_message(2, {ipfix_set(300, ipfixprobe_sip_record(rec[0], 5, "1 REGISTER"))})));
    CHECK(d.next(r));
}

TEST_CASE("ipfix decoder: templates not refreshed before the cutoff expire, per session") {
    sipdetect_cli::reader_counters c;
    sipdetect_cli::ipfix_decoder d(c);
    input_record r;
    const auto t0 = sipdetect_cli::ipfix_decoder::clock::time_point{} + 1000s;
    const std::string t300 = ipfix_message(1, {ipfix_set(2, ipfix_template_record(300, ipfixprobe_sip_template(false)))});
    const std::string t301 = ipfix_message(1, {ipfix_set(2, ipfix_template_record(301, ipfixprobe_sip_template(false)))});
    d.start_message(1, bytes_of(t300), t0);
    CHECK_FALSE(d.next(r));
    d.start_message(1, bytes_of(t301), t0 + 100s);
    CHECK_FALSE(d.next(r));
    d.start_message(2, bytes_of(t300), t0);
    CHECK_FALSE(d.next(r));
    CHECK(d.expire_templates(1, t0 + 50s) == 1); // 300 of session 1 only
    CHECK(d.templates() == 2);
    d.start_message(1, bytes_of(t301), t0 + 200s); // refreshed
    CHECK_FALSE(d.next(r));
    CHECK(d.expire_templates(1, t0 + 150s) == 0);
    CHECK(d.expire_templates(2, t0 + 150s) == 1);
    CHECK(d.templates() == 1);
}

TEST_CASE("ipfix decoder: defective messages throw ipfix_defect and give nothing more") {
    sipdetect_cli::reader_counters c;
    sipdetect_cli::ipfix_decoder d(c);
    input_record r;
    const auto rec = registers("10.0.0.1", "192.0.2.10", 2);
    const std::string good = exporter_messages(rec, false)[0];
    SECTION("a length field that is not the message's size") {
        CHECK_THROWS_AS(d.start_message(1, bytes_of(good.substr(0, good.size() - 1))), sipdetect_cli::ipfix_defect);
        CHECK_THROWS_AS(d.start_message(1, bytes_of(good + "x")), sipdetect_cli::ipfix_defect);
        CHECK_FALSE(d.next(r));
    }
    SECTION("NetFlow v9") {
        std::string v9 = good;
        v9[1] = 9;
        CHECK(error_of([&] { d.start_message(1, bytes_of(v9)); }).find("NetFlow v9") != std::string::npos);
    }
    SECTION("a set running past the message, after a record already returned") {
        std::string data = ipfixprobe_sip_record(rec[0], 5, "1 REGISTER");
        std::string bad = ipfix_message(7, {ipfix_set(2, ipfix_template_record(258, ipfixprobe_sip_template(false))),
                                            ipfix_set(258, data), ipfix_set(258, data)});
        bad[bad.size() - data.size() - 2] = '\x7f'; // the last set's length: far past the end
        d.start_message(1, bytes_of(bad));
        REQUIRE(d.next(r));
        CHECK_THROWS_AS(d.next(r), sipdetect_cli::ipfix_defect);
        CHECK_FALSE(d.next(r));
    }
}

// ---------------------------------------------------------------------------
// The listener

TEST_CASE("ipfix listener: addresses udp:/tcp:, IPv4 and IPv6, bracketed or not") {
    using sipdetect_cli::parse_ipfix_listen_address;
    const auto a = parse_ipfix_listen_address("udp:127.0.0.1:4739");
    CHECK(a.protocol == sipdetect_cli::ipfix_listen_address::transport::udp);
    CHECK(a.host == "127.0.0.1");
    CHECK(a.port == 4739);
    const auto b = parse_ipfix_listen_address("tcp:[::1]:4740");
    CHECK(b.protocol == sipdetect_cli::ipfix_listen_address::transport::tcp);
    CHECK(b.host == "::1");
    CHECK(b.port == 4740);
    CHECK(parse_ipfix_listen_address("tcp:::1:4741").host == "::1");
    CHECK_THROWS_AS(parse_ipfix_listen_address("sctp:127.0.0.1:4739"), std::invalid_argument);
    CHECK_THROWS_AS(parse_ipfix_listen_address("udp:127.0.0.1"), std::invalid_argument);
    CHECK_THROWS_AS(parse_ipfix_listen_address("udp:127.0.0.1:65536"), std::invalid_argument);
    CHECK_THROWS_AS(parse_ipfix_listen_address("udp:localhost:4739"), std::invalid_argument);
}

TEST_CASE("ipfix listener: TCP, two exporters with different templates under one template id, framed across writes") {
    auto listener = tcp_listener();
    REQUIRE(listener.local_port() != 0);
    const auto v4 = registers("10.0.0.1", "192.0.2.10", 9);
    const auto v6 = registers("2001:db8::1", "2001:db8::10", 7, 1'700'000'100);
    const std::string a = joined(exporter_messages(v4, false));
    const std::string b = joined(exporter_messages(v6, true));
    auto exporter_a = tcp_connect(listener.local_port());
    auto exporter_b = tcp_connect(listener.local_port());
    // A's stream cut in the middle of its second message's header, B's whole.
    const std::size_t cut = exporter_messages(v4, false)[0].size() + 3;
    send_all(exporter_a->get(), a.substr(0, cut));
    send_all(exporter_b->get(), b);
    auto got = pull(listener, 4 + v6.size()); // A's first message (4 records) and all of B
    REQUIRE(got.size() == 4 + v6.size());
    CHECK(pull(listener, 1, 300ms).empty()); // the rest of A waits for its bytes
    send_all(exporter_a->get(), a.substr(cut));
    const auto rest = pull(listener, v4.size() - 4);
    got.insert(got.end(), rest.begin(), rest.end());

    std::vector<input_record> from_a, from_b;
    for (const auto& r : got) (r.src.is_v4() ? from_a : from_b).push_back(r);
    check_same_records(from_a, v4);
    check_same_records(from_b, v6);
    const auto c = listener.counters();
    CHECK(c.ipfix_connections == 2);
    CHECK(c.ipfix_templates == 2);
    CHECK(listener.templates() == 2);
    CHECK(c.ipfix_defective_messages == 0);

    // A connection's templates go with it.
    exporter_a->close();
    const auto deadline = steady::now() + 10s;
    while (listener.open_connections() == 2 && steady::now() < deadline) (void)pull(listener, 1, 50ms);
    CHECK(listener.open_connections() == 1);
    CHECK(listener.templates() == 1);
}

TEST_CASE("ipfix listener: a TCP peer sending garbage is disconnected and counted, the others go on") {
    auto listener = tcp_listener();
    const auto good_records = registers("10.0.0.1", "192.0.2.10", 5);
    auto good = tcp_connect(listener.local_port());
    auto bad = tcp_connect(listener.local_port());
    const auto messages = exporter_messages(good_records, false);
    std::string garbage;
    SECTION("not IPFIX at all") { garbage = "GET / HTTP/1.1\r\nHost: x\r\n\r\n"; }
    SECTION("an IPFIX header with an absurd length") {
        garbage = messages[0];
        garbage[2] = 0;
        garbage[3] = 5;
    }
    SECTION("a message whose set runs past its end") {
        garbage = messages[0];
        garbage[16 + 2] = '\x7f';
    }
    SECTION("NetFlow v9") {
        garbage = messages[0];
        garbage[1] = 9;
    }
    send_all(bad->get(), garbage);
    CHECK(closed_by_peer(*bad, 10s, listener));
    send_all(good->get(), joined(messages));
    const auto got = pull(listener, good_records.size());
    check_same_records(got, good_records);
    const auto c = listener.counters();
    CHECK(c.ipfix_peers_disconnected == 1);
    CHECK(listener.open_connections() == 1);
}

TEST_CASE("ipfix listener: a TCP message cut by the exporter's close is counted, never decoded") {
    auto listener = tcp_listener();
    const auto records = registers("10.0.0.1", "192.0.2.10", 8);
    const auto messages = exporter_messages(records, false);
    {
        auto exporter = tcp_connect(listener.local_port());
        send_all(exporter->get(), messages[0] + messages[1].substr(0, 20));
    }
    const auto got = pull(listener, 5, 2s);
    CHECK(got.size() == 4);
    const auto deadline = steady::now() + 10s;
    while (listener.open_connections() > 0 && steady::now() < deadline) (void)pull(listener, 1, 50ms);
    CHECK(listener.open_connections() == 0);
    CHECK(listener.counters().ipfix_defective_messages == 1);
    CHECK(listener.templates() == 0);
}

TEST_CASE("ipfix listener: UDP, templates per exporter address and port, bad datagrams dropped and counted") {
    sipdetect_cli::ipfix_listener listener(sipdetect_cli::parse_ipfix_listen_address("udp:127.0.0.1:0"), 1800s);
    REQUIRE(listener.local_port() != 0);
    const auto v4 = registers("10.0.0.1", "192.0.2.10", 6);
    const auto v6 = registers("2001:db8::1", "2001:db8::10", 6, 1'700'000'100);
    auto exporter_a = udp_sender();
    auto exporter_b = udp_sender();
    const auto a = exporter_messages(v4, false);
    const auto b = exporter_messages(v6, true);
    // B's data without its template first: no template in B's session yet, whatever A defined.
    send_datagram(*exporter_a, listener.local_port(), a[0]);
    send_datagram(*exporter_b, listener.local_port(), b[1]);
    auto got = pull(listener, 4);
    CHECK(pull(listener, 1, 300ms).empty());
    CHECK(listener.counters().sets_without_template == 1);
    for (const auto& m : b) send_datagram(*exporter_b, listener.local_port(), m);
    send_datagram(*exporter_a, listener.local_port(), a[1]);
    // Hostile datagrams: cut short, with trailing bytes, not IPFIX.
    send_datagram(*exporter_a, listener.local_port(), a[1].substr(0, a[1].size() - 7));
    send_datagram(*exporter_a, listener.local_port(), a[1] + "xyz");
    send_datagram(*exporter_a, listener.local_port(), "\x01\x02 not ipfix");
    const auto rest = pull(listener, v4.size() - 4 + v6.size());
    got.insert(got.end(), rest.begin(), rest.end());
    std::vector<input_record> from_a, from_b;
    for (const auto& r : got) (r.src.is_v4() ? from_a : from_b).push_back(r);
    check_same_records(from_a, v4);
    check_same_records(from_b, v6);
    CHECK(pull(listener, 1, 300ms).empty());
    CHECK(listener.counters().ipfix_defective_messages == 3);
    CHECK(listener.udp_sessions() == 2);
    CHECK(listener.templates() == 2);
}

TEST_CASE("ipfix listener: IPv6, over UDP and TCP on ::1") {
    {
        const int probe = ::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_in6 a{};
        a.sin6_family = AF_INET6;
        a.sin6_addr = in6addr_loopback;
        const void* raw = &a;
        const bool usable = probe >= 0 && ::bind(probe, static_cast<const sockaddr*>(raw), sizeof a) == 0;
        if (probe >= 0) ::close(probe);
        if (!usable) {
            WARN("SKIPPED: no IPv6 loopback address here");
            return;
        }
    }
    const auto records = registers("2001:db8::1", "2001:db8::10", 5);
    const auto messages = exporter_messages(records, true);
    for (const char* transport : {"udp", "tcp"}) {
        INFO(transport);
        sipdetect_cli::ipfix_listener listener(
            sipdetect_cli::parse_ipfix_listen_address(std::string(transport) + ":[::1]:0"), 1800s);
        sockaddr_in6 to{};
        to.sin6_family = AF_INET6;
        to.sin6_addr = in6addr_loopback;
        to.sin6_port = htons(listener.local_port());
        const void* raw = &to;
        const bool tcp = std::string(transport) == "tcp";
        socket_fd exporter(::socket(AF_INET6, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0));
        REQUIRE(::connect(exporter.get(), static_cast<const sockaddr*>(raw), sizeof to) == 0);
        for (const auto& m : messages) send_all(exporter.get(), m); // a connected UDP socket sends one datagram per call
        check_same_records(pull(listener, records.size()), records);
    }
}

TEST_CASE("ipfix listener: a UDP exporter's templates expire when not sent again within the timeout") {
    sipdetect_cli::ipfix_listener listener(sipdetect_cli::parse_ipfix_listen_address("udp:127.0.0.1:0"), 1s);
    const auto records = registers("10.0.0.1", "192.0.2.10", 8);
    const auto messages = exporter_messages(records, false);
    auto exporter = udp_sender();
    send_datagram(*exporter, listener.local_port(), messages[0]);
    CHECK(pull(listener, 4).size() == 4);
    // Past the timeout (the listener looks once a second), the data alone finds no template.
    std::this_thread::sleep_for(2500ms);
    CHECK(pull(listener, 1, 100ms).empty());
    CHECK(listener.counters().ipfix_templates_expired == 1);
    CHECK(listener.templates() == 0);
    send_datagram(*exporter, listener.local_port(), messages[1]);
    CHECK(pull(listener, 1, 500ms).empty());
    CHECK(listener.counters().sets_without_template == 1);
}

TEST_CASE("ipfix listener: a port in use is an input error naming the address") {
    auto first = tcp_listener();
    const std::string taken = "tcp:127.0.0.1:" + std::to_string(first.local_port());
    const std::string error =
        error_of([&] { sipdetect_cli::ipfix_listener(sipdetect_cli::parse_ipfix_listen_address(taken), 1800s); });
    CHECK(error.find(taken + ": cannot bind") != std::string::npos);
}

// ---------------------------------------------------------------------------
// Streams: standard input is a descriptor read as it becomes readable

namespace {

struct pipe_stream {
    int read_end = -1, write_end = -1;
    pipe_stream() {
        int fds[2];
        REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
        read_end = fds[0];
        write_end = fds[1];
    }
    ~pipe_stream() {
        close_writer();
        if (read_end >= 0) ::close(read_end);
    }
    pipe_stream(const pipe_stream&) = delete;
    pipe_stream& operator=(const pipe_stream&) = delete;
    void write(const std::string& s) const {
        std::size_t done = 0;
        while (done < s.size()) {
            const ssize_t n = ::write(write_end, s.data() + done, s.size() - done);
            REQUIRE(n > 0);
            done += static_cast<std::size_t>(n);
        }
    }
    void close_writer() {
        if (write_end >= 0) ::close(write_end);
        write_end = -1;
    }
    std::unique_ptr<sipdetect_cli::stream_source> source() const {
        return std::make_unique<sipdetect_cli::stream_source>("-", sipdetect_cli::descriptor_bytes(read_end));
    }
};

// Writes `content` to a pipe from a thread, in pieces, and reads it as a stream.
std::pair<std::vector<input_record>, bool> through_pipe(const std::string& content, std::size_t piece = 1000) {
    pipe_stream p;
    auto source = p.source();
    std::thread writer([&] {
        for (std::size_t at = 0; at < content.size(); at += piece) p.write(content.substr(at, piece));
        p.close_writer();
    });
    auto result = pull_to_end(*source, 30s);
    writer.join();
    return result;
}

std::string file_bytes(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string zeek_json_line(int t, const std::string& from) {
    return "{\"ts\":" + std::to_string(t) +
           ".25,\"uid\":\"C1\",\"id.orig_h\":\"10.0.0.1\",\"id.orig_p\":5070,\"id.resp_h\":\"192.0.2.10\","
           "\"id.resp_p\":5060,\"trans_depth\":0,\"method\":\"REGISTER\",\"uri\":\"sip:192.0.2.10\","
           "\"request_from\":\"<sip:" + from + "@example.net>\",\"request_to\":\"<sip:" + from +
           "@example.net>\",\"status_code\":401,\"user_agent\":\"friendly-scanner\"}\n";
}

const std::string zeek_tsv_header =
    "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tsip\n"
    "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tmethod\turi\trequest_from\trequest_to\t"
    "status_code\tuser_agent\n"
    "#types\ttime\tstring\taddr\tport\taddr\tport\tstring\tstring\tstring\tstring\tcount\tstring\n";

std::string zeek_tsv_line(int t, const std::string& from) {
    return std::to_string(t) + ".5\tC1\t10.0.0.1\t5070\t192.0.2.10\t5060\tREGISTER\tsip:192.0.2.10\t<sip:" + from +
           "@example.net>\t<sip:" + from + "@example.net>\t401\tfriendly-scanner\n";
}

} // namespace

TEST_CASE("streams: a pipe gives the records its file gives, for every format but NetMon") {
    temp_dir dir;
    std::vector<std::filesystem::path> files{std::filesystem::path(SIPDETECT_SOURCE_DIR) / "examples/data/demo.pcap"};
    files.push_back(dir.write("records.ipfix", ipfixprobe_file(registers("10.0.0.1", "192.0.2.10", 40))));
    std::string json, tsv = zeek_tsv_header;
    for (int i = 0; i < 30; ++i) {
        json += zeek_json_line(1'700'000'000 + i, "u" + std::to_string(i));
        tsv += zeek_tsv_line(1'700'000'000 + i, "u" + std::to_string(i));
    }
    files.push_back(dir.write("sip.json.log", json));
    files.push_back(dir.write("sip.tsv.log", tsv));
    for (const char* shared : {"ipfixprobe/sip.unirec.csv", "sipnab/b2bua-asterisk.pcapng", "ipfix/sip.ipfix"}) {
        const auto p = shared_data_dir() / shared;
        if (std::filesystem::exists(p)) files.push_back(p);
        else if (in_ci()) FAIL("missing shared data file in CI: " << p.string());
        else WARN("SKIPPED: shared data file not found: " << p.string());
    }
    for (const auto& f : files) {
        INFO(f.string());
        const auto expected = records_of(f);
        REQUIRE_FALSE(expected.empty());
        const auto [got, ended] = through_pipe(file_bytes(f), 777);
        CHECK(ended);
        check_same_records(got, expected);
    }
}

TEST_CASE("streams: the format from the first bytes") {
    using sipdetect_cli::detect_stream_format;
    using sipdetect_cli::input_format;
    using sipdetect_cli::stream_head_complete;
    CHECK_FALSE(stream_head_complete("{\"ts\":1", false)); // the first line is not complete yet
    CHECK(stream_head_complete("{\"ts\":1", true));
    CHECK(stream_head_complete("{\"ts\":1}\n", false));
    CHECK(detect_stream_format("\n  {\"ts\":1}\n") == input_format::zeek_json);
    CHECK(detect_stream_format("\xEF\xBB\xBF#separator \\x09\n") == input_format::zeek_tsv);
    CHECK(detect_stream_format("ipaddr DST_IP,ipaddr SRC_IP\n") == input_format::ipfixprobe_csv);
    CHECK(detect_stream_format("192.0.2.1,192.0.2.2,5060\n") == input_format::ipfixprobe_csv);
    CHECK(detect_stream_format("{" + std::string(70000, 'x')) == input_format::zeek_json); // a line longer than the head
    CHECK(stream_head_complete(std::string(70000, 'x'), false));
    CHECK(detect_stream_format(std::string("\xd4\xc3\xb2\xa1", 4) + std::string(20, '\0')) == input_format::pcap);
    CHECK(detect_stream_format(std::string("\x0a\x0d\x0d\x0a", 4) + std::string(20, '\0')) == input_format::pcap);
    CHECK(detect_stream_format(std::string("\x00\x0a\x00\x20", 4) + std::string(28, '\0')) == input_format::ipfix);
    CHECK(detect_stream_format("GMBU" + std::string(20, '\0')) == input_format::netmon);
    CHECK(detect_stream_format(std::string(20, '\0')) == input_format::unknown);
    CHECK_FALSE(stream_head_complete(std::string("\xd4\xc3\xb2\xa1", 4), false)); // 16 bytes first
    CHECK(detect_stream_format("") == input_format::unknown);
    CHECK(detect_stream_format(" \n\n") == input_format::unknown);
}

TEST_CASE("streams: records come as their bytes do, without waiting for the end of the stream") {
    pipe_stream p;
    auto source = p.source();
    std::string first;
    for (int i = 0; i < 3; ++i) first += zeek_json_line(1'700'000'000 + i, "u" + std::to_string(i));
    p.write(first);
    p.write(zeek_json_line(1'700'000'010, "partial").substr(0, 40)); // a line not complete yet
    // Nothing is read before the first next(): the loop drops privileges first.
    CHECK(source->format() == sipdetect_cli::input_format::unknown);
    const auto got = pull(*source, 7, 2s);
    CHECK(got.size() == 6); // 3 lines, each a request and its response: then nothing until the line ends
    CHECK(source->format() == sipdetect_cli::input_format::zeek_json);
    p.write(zeek_json_line(1'700'000'010, "partial").substr(40));
    CHECK(pull(*source, 2).size() == 2);
    p.close_writer();
    const auto [rest, ended] = pull_to_end(*source);
    CHECK(rest.empty());
    CHECK(ended);
}

TEST_CASE("streams: an ipfixprobe CSV whose template is its last line is held until the template comes") {
    SIPDETECT_REQUIRE_SHARED_FILE(csv, "ipfixprobe/sip.unirec.csv");
    const std::string content = file_bytes(csv);
    const std::size_t last_line = content.rfind('\n', content.size() - 2) + 1;
    pipe_stream p;
    auto source = p.source();
    p.write(content.substr(0, last_line));
    CHECK(pull(*source, 1, 500ms).empty());
    p.write(content.substr(last_line));
    p.close_writer();
    const auto [got, ended] = pull_to_end(*source);
    CHECK(ended);
    check_same_records(got, records_of(csv));
}

TEST_CASE("streams: a stream that is not a known format, or NetMon, or cut short, is an error once, then ended") {
    std::string content, message;
    SECTION("empty") {
        message = "unrecognised input format";
    }
    SECTION("NetMon") {
        content = "GMBU" + std::string(60, '\x01');
        message = "NetMon";
    }
    SECTION("binary garbage") {
        content = std::string(100, '\0');
        message = "unrecognised input format";
    }
    SECTION("a pcap cut in a packet") {
        const std::string demo = file_bytes(std::filesystem::path(SIPDETECT_SOURCE_DIR) / "examples/data/demo.pcap");
        content = demo.substr(0, demo.size() - 10);
        message = "truncated";
    }
    pipe_stream p;
    auto source = p.source();
    std::thread writer([&] { // the reader starts at the first next(): the pipe may not hold it all before
        p.write(content);
        p.close_writer();
    });
    input_record r;
    bool thrown = false;
    const auto deadline = steady::now() + 10s;
    live_source::pull last = live_source::pull::none;
    while (steady::now() < deadline) {
        try {
            last = source->next(r);
        } catch (const sipdetect_cli::input_exception& e) {
            CHECK(std::string(e.what()).find(message) != std::string::npos);
            thrown = true;
            continue;
        }
        if (last == live_source::pull::ended) break;
        if (last == live_source::pull::none) {
            pollfd w{source->wait_fd(), POLLIN, 0};
            (void)::poll(&w, 1, 50);
        }
    }
    writer.join();
    CHECK(thrown);
    CHECK(last == live_source::pull::ended);
}

TEST_CASE("streams: a source destroyed while its writer is still open stops at once") {
    pipe_stream p;
    auto source = p.source();
    p.write(zeek_json_line(1'700'000'000, "u"));
    CHECK(pull(*source, 2).size() == 2);
    source.reset(); // joins its reader, which waits for bytes that never come
    SUCCEED("stopped");
}

// ---------------------------------------------------------------------------
// Followed logs

TEST_CASE("follow: a Zeek log appended, rotated and truncated while read gives every line once") {
    for (const bool json : {false, true}) {
        INFO((json ? "JSON" : "TSV"));
        temp_dir dir;
        const auto line = [&](int i) {
            return json ? zeek_json_line(1'700'000'000 + i, "u" + std::to_string(i))
                        : zeek_tsv_line(1'700'000'000 + i, "u" + std::to_string(i));
        };
        const std::string header = json ? "" : zeek_tsv_header;
        const auto log = dir.write("sip.log", header + line(0) + line(1));
        auto followed = std::make_unique<sipdetect_cli::followed_file>(log, 20ms);
        auto* follow = followed.get();
        sipdetect_cli::stream_source source(log.string(), std::move(followed));
        CHECK(pull(source, 4).size() == 4);

        // Appended, the last line in two writes: nothing until it ends.
        dir.append("sip.log", line(2) + line(3).substr(0, 10));
        CHECK(pull(source, 3, 500ms).size() == 2);
        dir.append("sip.log", line(3).substr(10));
        CHECK(pull(source, 2).size() == 2);

        // Rotated: renamed, a last line still written to the old file, then recreated.
        std::filesystem::rename(log, dir.path("sip.log.1"));
        dir.append("sip.log.1", line(4));
        dir.write("sip.log", header + line(5));
        CHECK(pull(source, 4).size() == 4);
        CHECK(follow->counters().rotations == 1);

        // Truncated (copytruncate), then written again from its start.
        std::filesystem::resize_file(log, 0);
        const auto deadline = steady::now() + 10s;
        while (follow->counters().truncations == 0 && steady::now() < deadline) CHECK(pull(source, 1, 20ms).empty());
        dir.append("sip.log", header + line(6));
        CHECK(pull(source, 2).size() == 2);
        CHECK(follow->counters().truncations == 1);
        CHECK(pull(source, 1, 300ms).empty());
        CHECK(source.counters().records == 14); // 7 lines, each a request and its response
    }
}

TEST_CASE("follow: the records are those of the file read at once") {
    temp_dir dir;
    std::string content = zeek_tsv_header;
    for (int i = 0; i < 25; ++i) {
        std::string user = "u"; // appended, not "u" + ...: GCC 12's -Wrestrict false positive at -O3 (PR 105329)
        user += std::to_string(i);
        content += zeek_tsv_line(1'700'000'000 + i, user);
    }
    const auto log = dir.write("sip.log", content.substr(0, content.size() / 2));
    sipdetect_cli::stream_source source(log.string(), std::make_unique<sipdetect_cli::followed_file>(log, 20ms));
    auto got = pull(source, 1, 2s);
    dir.append("sip.log", content.substr(content.size() / 2));
    const auto rest = pull(source, 50 - got.size());
    got.insert(got.end(), rest.begin(), rest.end());
    check_same_records(got, records_of(dir.write("whole.log", content)));
}

TEST_CASE("follow: a file that does not exist yet is waited for") {
    temp_dir dir;
    sipdetect_cli::stream_source source(dir.path("sip.log").string(),
                                        std::make_unique<sipdetect_cli::followed_file>(dir.path("sip.log"), 20ms));
    CHECK(pull(source, 1, 200ms).empty());
    dir.write("sip.log", zeek_json_line(1'700'000'000, "late"));
    CHECK(pull(source, 2).size() == 2);
}

// ---------------------------------------------------------------------------
// The reorder buffer

namespace {

// A live source of the test: a script of records, pauses (nullopt) and an optional failure at the end.
class scripted_source final : public live_source {
public:
    explicit scripted_source(std::vector<std::optional<input_record>> script, bool fail_at_end = false)
        : script_(std::move(script)), fail_at_end_(fail_at_end) {}
    pull next(input_record& out) override {
        if (at_ < script_.size()) {
            const auto& step = script_[at_++];
            if (!step) return pull::none;
            out = *step;
            return pull::record;
        }
        if (fail_at_end_) {
            fail_at_end_ = false;
            throw sipdetect_cli::input_exception({"scripted", "", "cut short"});
        }
        return pull::ended;
    }
    int wait_fd() const noexcept override { return -1; }
    sipdetect_cli::reader_counters counters() const override { return {}; }
    std::string name() const override { return "scripted"; }

private:
    std::vector<std::optional<input_record>> script_;
    std::size_t at_ = 0;
    bool fail_at_end_;
};

input_record at(int second, std::uint16_t status = 0) {
    input_record r;
    r.time = sipdetect::record_time_from_micros(std::int64_t{second} * 1'000'000);
    r.status = status;
    r.src_port = static_cast<std::uint16_t>(second);
    return r;
}

std::vector<int> seconds_out(live_source& s, bool& failed) {
    std::vector<int> out;
    input_record r;
    failed = false;
    for (int calls = 0; calls < 100; ++calls) {
        live_source::pull p = live_source::pull::none;
        try {
            p = s.next(r);
        } catch (const sipdetect_cli::input_exception&) {
            failed = true;
            continue;
        }
        if (p == live_source::pull::ended) break;
        if (p == live_source::pull::record)
            out.push_back(static_cast<int>(sipdetect::micros_of(r.time) / 1'000'000) * (r.status != 0 ? -1 : 1));
    }
    return out;
}

} // namespace

TEST_CASE("reorder: a window of records, in time order, a request before its response at equal times") {
    bool failed = false;
    SECTION("a window larger than the stream: sorted, held until the end") {
        sipdetect_cli::reorder_source s(std::make_unique<scripted_source>(std::vector<std::optional<input_record>>{
                                            at(5), at(3, 200), at(3), std::nullopt, at(1), at(4)}),
                                        100, std::chrono::hours(1));
        CHECK(seconds_out(s, failed) == std::vector<int>{1, 3, -3, 4, 5});
        CHECK_FALSE(failed);
    }
    SECTION("a window of 2: a record more out of order than that is passed on after later ones") {
        sipdetect_cli::reorder_source s(std::make_unique<scripted_source>(std::vector<std::optional<input_record>>{
                                            at(2), at(1), at(5), at(6), at(3), at(7)}),
                                        2, std::chrono::hours(1));
        CHECK(seconds_out(s, failed) == std::vector<int>{1, 2, 5, 3, 6, 7});
    }
    SECTION("held for no time: records leave as they come") {
        sipdetect_cli::reorder_source s(std::make_unique<scripted_source>(std::vector<std::optional<input_record>>{
                                            at(5), at(3), std::nullopt, at(1)}),
                                        100, std::chrono::seconds(0));
        CHECK(seconds_out(s, failed) == std::vector<int>{5, 3, 1});
    }
    SECTION("stopping: what is held comes out at once, in time order, and the stream is not asked again") {
        sipdetect_cli::reorder_source s(std::make_unique<scripted_source>(std::vector<std::optional<input_record>>{
                                            at(5), at(3), std::nullopt, at(1)}),
                                        100, std::chrono::hours(1));
        input_record r;
        CHECK(s.next(r) == live_source::pull::none);
        s.stop_holding();
        CHECK(seconds_out(s, failed) == std::vector<int>{3, 5});
        CHECK(s.next(r) == live_source::pull::none);
    }
    SECTION("a failure of the stream comes after the records read before it") {
        sipdetect_cli::reorder_source s(
            std::make_unique<scripted_source>(std::vector<std::optional<input_record>>{at(4), at(2)}, true), 100,
            std::chrono::hours(1));
        CHECK(seconds_out(s, failed) == std::vector<int>{2, 4});
        CHECK(failed);
    }
}
