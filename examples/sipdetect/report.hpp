// sipdetect command-line program: the HTML report (--report FILE.html).
//
// report_data collects, during the run, what the page shows: the inputs and
// settings, records by message type, and the latest event of every scan and
// proxy. render_report() turns it into one self-contained page (inline CSS,
// SVG and a little script; nothing is fetched when it is opened);
// html_report writes that page atomically, at the end of a run and at each
// checkpoint of a live one.
#pragma once

#include "input_record.hpp"
#include "options.hpp"

#include <sipdetect/campaign_detector.hpp>
#include <sipdetect/proxy_detector.hpp>
#include <sipdetect/scan_detector.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace sipdetect_cli {

// A report file that could not be written; the message names it.
class report_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Text for HTML element content or a quoted attribute value: markup
// characters as entities, control bytes and invalid UTF-8 as visible \xNN,
// and at most max_chars characters (then an ellipsis and the length in bytes).
std::string html_text(std::string_view s, std::size_t max_chars = 256);

// Records by SIP method: requests, then responses by class 1xx..6xx, then
// responses with a status outside 100-699.
struct message_counts {
    static constexpr std::size_t columns = 8;
    std::array<std::array<std::uint64_t, columns>, sipdetect::sip_method_names.size()> by_method{};

    void add(sipdetect::sip_method method, std::uint16_t status) noexcept;
};

// Everything the page shows. Scans and campaigns are kept by id, each as its
// latest event; past max_kept scans (or proxies, or campaigns) the oldest are
// let go and counted, so that a long live run keeps bounded memory.
struct report_data {
    static constexpr std::size_t max_kept = 20'000;

    std::vector<std::string> inputs;
    sipdetect::scan_config scan;
    sipdetect::proxy_config proxy;
    sipdetect::campaign_config campaign;
    bool campaigns_on = true;
    std::optional<std::string> state_file;

    std::uint64_t records = 0;
    sipdetect::record_time first_record = sipdetect::record_time::max();
    sipdetect::record_time last_record = sipdetect::record_time::min();
    message_counts messages;

    std::array<std::uint64_t, sipdetect::scan_phase_names.size()> scan_events_by_phase{};
    std::map<std::uint64_t, sipdetect::scan_event> scans; // id -> latest event
    std::uint64_t scans_let_go = 0;
    std::uint64_t proxy_events = 0;
    std::vector<sipdetect::proxy_event> new_proxies;
    std::uint64_t proxies_let_go = 0;

    std::array<std::uint64_t, sipdetect::scan_phase_names.size()> campaign_events_by_phase{};
    std::map<std::uint64_t, sipdetect::campaign_event> campaigns; // id -> latest event
    std::uint64_t campaigns_let_go = 0;

    std::vector<sipdetect::known_proxy> learned; // the baseline when the page was written
    sipdetect::record_time season_end = sipdetect::record_time::max();

    void add(const sipdetect::scan_event& e);
    void add(const sipdetect::proxy_event& e);
    void add(const sipdetect::campaign_event& e);
    void note_record(const input_record& r) noexcept;
};

// The page for `data`.
std::string render_report(const report_data& data);

// The report a run writes: it receives every record and every event the
// event output prints, and the proxy baseline before each write().
class html_report {
public:
    html_report(std::string path, const options& opt);

    void note_record(const input_record& r) noexcept { data_.note_record(r); }
    template <class Event> void add(const std::vector<Event>& events) {
        for (const Event& e : events) data_.add(e);
    }
    // The proxy baseline and the end of the ClosedSeason, as the detector has them now.
    void note_baseline(std::vector<sipdetect::known_proxy> learned, sipdetect::record_time season_end);
    // At the end of a run and at each checkpoint of a live one: the
    // baseline from the proxy detector, then write().
    template <class ProxyDetector> void checkpoint(const ProxyDetector& proxies) {
        note_baseline(proxies.learned_proxies(), proxies.season_end());
        write();
    }

    // Writes the page to the path, through a temporary file renamed over it,
    // so a reader never sees half a page. Throws report_error.
    void write() const;

    const report_data& data() const noexcept { return data_; }

private:
    std::string path_;
    report_data data_;
};

} // namespace sipdetect_cli
