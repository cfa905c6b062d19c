// Must not compile: a member named `status` that is no integer. Before, such
// a member switched responses off silently and every response counted as a
// request.
#include <sipdetect/scan_detector.hpp>

#include <string>

struct record_with_text_status {
    sipdetect::record_time time;
    sipdetect::ip_address src, dst;
    std::uint16_t dst_port;
    sipdetect::sip_method method;
    std::string status; // "404 Not Found"
    std::string_view from_uri, to_uri;
};

int main() {
    sipdetect::scan_detector<record_with_text_status> detector;
    detector.feed(record_with_text_status{});
    return static_cast<int>(detector.poll().size());
}
