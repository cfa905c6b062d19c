// Test helpers: a per-message record in the default member layout, and builders.
#pragma once

#include <sipdetect/record.hpp>

#include <chrono>
#include <string>

struct msg {
    sipdetect::record_time time{};
    sipdetect::ip_address src, dst;
    std::uint16_t src_port = 5060, dst_port = 5060;
    sipdetect::sender sent_by = sipdetect::sender::source;
    sipdetect::sip_method method = sipdetect::sip_method::unknown;
    std::uint16_t status = 0;
    std::string from_uri, to_uri, request_uri, user_agent;
    unsigned via_count = 1;
};

inline sipdetect::ip_address ip(const char* text) { return sipdetect::ip_address::parse(text); }
inline sipdetect::record_time at_seconds(double s) {
    return sipdetect::record_time_from_micros(static_cast<std::int64_t>(s * 1e6));
}

inline msg request(double t, const char* client, const char* server, sipdetect::sip_method m, const std::string& user,
                   std::uint16_t port = 5060) {
    msg r;
    r.time = at_seconds(t);
    r.src = ip(client);
    r.dst = ip(server);
    r.dst_port = port;
    r.method = m;
    r.to_uri = "sip:" + user + "@" + server;
    r.from_uri = r.to_uri;
    r.request_uri = r.to_uri;
    return r;
}

// A response oriented as sent: from the server back to the client.
inline msg response(const msg& req, double t, std::uint16_t status) {
    msg r = req;
    r.time = at_seconds(t);
    std::swap(r.src, r.dst);
    std::swap(r.src_port, r.dst_port);
    r.status = status;
    r.request_uri.clear();
    return r;
}

// The same response kept in the request's orientation, as ipfixprobe biflows do.
inline msg response_biflow(const msg& req, double t, std::uint16_t status) {
    msg r = req;
    r.time = at_seconds(t);
    r.sent_by = sipdetect::sender::destination;
    r.status = status;
    r.request_uri.clear();
    return r;
}
