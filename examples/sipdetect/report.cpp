// sipdetect command-line program: the HTML report.
#include "report.hpp"

#include <sipdetect/json.hpp>
#include <sipdetect/version.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <limits>
#include <set>
#include <utility>

namespace sipdetect_cli {

std::string html_text(std::string_view s, std::size_t max_chars) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(std::min(s.size(), max_chars) + 16);
    std::size_t chars = 0, i = 0;
    for (; i < s.size() && chars < max_chars; ++chars) {
        const auto c = static_cast<unsigned char>(s[i]);
        const std::size_t n = sipdetect::detail::utf8_sequence(s, i);
        if (c == '&') out += "&amp;";
        else if (c == '<') out += "&lt;";
        else if (c == '>') out += "&gt;";
        else if (c == '"') out += "&quot;";
        else if (c == '\'') out += "&#39;";
        else if (n == 0 || c < 0x20 || c == 0x7f) {
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 0xf];
        } else {
            out.append(s.substr(i, n));
            i += n;
            continue;
        }
        ++i;
    }
    if (i < s.size()) out += fmt::format("\u2026 ({} bytes)", s.size());
    return out;
}

void message_counts::add(sipdetect::sip_method method, std::uint16_t status) noexcept {
    const auto row = std::min(static_cast<std::size_t>(method), by_method.size() - 1);
    std::size_t column = 0;
    if (status >= 100 && status < 700) column = status / 100u;
    else if (status != 0) column = columns - 1;
    ++by_method[row][column];
}

namespace {
// Keeps an event of the scan lifecycle (start, updates, end of one id) as its id's latest.
template <class Event>
void keep_latest(const Event& e, std::array<std::uint64_t, sipdetect::scan_phase_names.size()>& by_phase,
                 std::map<std::uint64_t, Event>& kept, std::uint64_t& let_go) {
    ++by_phase[std::min(static_cast<std::size_t>(e.phase), by_phase.size() - 1)];
    kept.insert_or_assign(e.id, e);
    if (kept.size() > report_data::max_kept) {
        kept.erase(kept.begin()); // ids grow: the one that began longest ago
        ++let_go;
    }
}
} // namespace

void report_data::add(const sipdetect::scan_event& e) { keep_latest(e, scan_events_by_phase, scans, scans_let_go); }

void report_data::add(const sipdetect::campaign_event& e) {
    keep_latest(e, campaign_events_by_phase, campaigns, campaigns_let_go);
}

void report_data::add(const sipdetect::proxy_event& e) {
    ++proxy_events;
    new_proxies.push_back(e);
    if (new_proxies.size() > max_kept) {
        new_proxies.erase(new_proxies.begin());
        ++proxies_let_go;
    }
}

void report_data::note_record(const input_record& r) noexcept {
    ++records;
    first_record = std::min(first_record, r.time);
    last_record = std::max(last_record, r.time);
    messages.add(r.method, r.status);
}

namespace {

using sipdetect::record_time;
using sipdetect::scan_event;
using sipdetect::proxy_event;
using sipdetect::known_proxy;
using sipdetect::campaign_event;

std::int64_t micros(record_time t) { return sipdetect::micros_of(t); }

// "2016-08-16 08:27:28.605" (UTC, milliseconds), for tables.
std::string table_time(record_time t) {
    const std::string s = sipdetect::format_rfc3339(t);
    return s.substr(0, 10) + " " + s.substr(11, 12);
}

// "8 h 31 min", "2 d 3 h", "12.4 s".
std::string span_text(std::int64_t us) {
    const double s = static_cast<double>(us) / 1e6;
    if (s < 60) return fmt::format("{:.3g} s", s);
    const auto total = static_cast<std::int64_t>(s);
    const std::int64_t d = total / 86400, h = total % 86400 / 3600, m = total % 3600 / 60, sec = total % 60;
    if (d > 0) return fmt::format("{} d {} h", d, h);
    if (h > 0) return fmt::format("{} h {} min", h, m);
    return fmt::format("{} min {} s", m, sec);
}

std::string days_text(sipdetect::record_duration d) {
    return fmt::format("{:g} days", static_cast<double>(d.count()) / 86'400e6);
}

// A sort key for an address: its 16 bytes in hex, so that text order is address order.
std::string address_key(const sipdetect::ip_address& a) {
    std::string key;
    for (const std::uint8_t b : a.bytes()) key += fmt::format("{:02x}", b);
    return key;
}

// The /24 (IPv4) or /64 (IPv6) holding a host.
sipdetect::ip_prefix group_prefix(const sipdetect::ip_address& host) {
    auto bytes = host.bytes();
    const bool v4 = host.is_v4();
    std::fill(bytes.begin() + (v4 ? 15 : 8), bytes.end(), std::uint8_t{0});
    return sipdetect::ip_prefix(sipdetect::ip_address::from_bytes(bytes), v4 ? 24u : 64u);
}

// A host in its group's row: an IPv4 host by its last byte (".17"), an IPv6 one whole.
std::string host_in_group(const sipdetect::ip_address& host) {
    if (host.is_v4()) return fmt::format(".{}", host.v4() & 0xffu);
    return html_text(host.to_string());
}

std::string answer_text(const sipdetect::scan_target& t) {
    if (t.status != 0) return fmt::format("{}", t.status);
    return t.answered_success || t.answered_failure ? "answered" : "no answer";
}
std::string_view answer_class(const sipdetect::scan_target& t) {
    if (t.answered_success) return "ok";
    if (t.answered_failure) return "err";
    return "none";
}

// Tables and lists show this many items a page. Items past the first page
// are hidden from the start, so that the browser never lays out thousands
// of them; the script pages through them, and without it (noscript) or in
// print every item shows.
constexpr std::size_t page_size = 100;
std::string_view page_item(std::size_t index) { return index < page_size ? "page-item" : "page-item off-page"; }

class page {
public:
    template <class... Args> void add(fmt::format_string<Args...> f, Args&&... args) {
        fmt::format_to(std::back_inserter(out_), f, std::forward<Args>(args)...);
    }
    void raw(std::string_view s) { out_ += s; }
    std::string take() { return std::move(out_); }

private:
    std::string out_;
};

constexpr std::string_view style = R"css(
:root{--fg:#1b1b1b;--muted:#555;--line:#c8c8c8;--soft:#f3f3f3;--register:#0072b2;--options:#e69f00;--invite:#cc79a7;--proxy:#009e73;--learned:#56b4e9;--campaign:#d55e00}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--fg);background:#fff;margin:0 auto;max-width:1280px;padding:0 16px 48px}
h1{font-size:1.6em;margin:.8em 0 .2em}h2{font-size:1.25em;margin:1.6em 0 .5em;border-bottom:2px solid var(--fg)}h3{font-size:1.05em;margin:1.2em 0 .3em}
nav.toc a{margin-right:1em}
table{border-collapse:collapse;margin:.4em 0 1em}th,td{border:1px solid var(--line);padding:3px 7px;text-align:left;vertical-align:top}
th{background:var(--soft)}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
caption{text-align:left;font-weight:600;padding:.3em 0}
th button{font:inherit;font-weight:600;border:0;background:none;padding:0;cursor:pointer;color:inherit}
th[aria-sort=ascending] button::after{content:" \25b2"}th[aria-sort=descending] button::after{content:" \25bc"}
tbody.scan:target .scan-row,section.targets:target h3{outline:3px solid #000}
.scan-detail td{background:#fafafa}.mono,code{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:.95em;overflow-wrap:anywhere}
.ok{font-weight:700;color:#00603d}.err{color:#8a2a00}.none{color:var(--muted)}
.chip,.chips span{display:inline-block;border:1px solid var(--line);border-radius:3px;padding:0 4px;margin:1px 2px}
table.sample td,.chips span{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:.95em;overflow-wrap:anywhere}
.muted{color:var(--muted)}.legend span{margin-right:1.2em;white-space:nowrap}
.swatch{display:inline-block;width:14px;height:10px;margin-right:4px;vertical-align:middle;border:1px solid #000}
svg.timeline{width:100%;height:auto;border:1px solid var(--line)}
svg text{font-size:11px;fill:var(--fg)}svg .lane-label{font-family:ui-monospace,"DejaVu Sans Mono",monospace}
svg .group-label{font-weight:700}svg .grid{stroke:#e2e2e2}svg .axis{stroke:#000}
svg .bar{stroke:#000;stroke-width:.5}svg .campaign-bar{stroke:#000;stroke-width:1.2;stroke-dasharray:3 2}
svg a:hover .bar,svg a:focus .bar,svg a:hover .campaign-bar,svg a:focus .campaign-bar{stroke-width:2}
.sm-register{fill:var(--register)}.sm-options{fill:var(--options)}.sm-invite{fill:var(--invite)}
svg .span{stroke:#777;stroke-width:1.5}svg .new-proxy{fill:var(--proxy);stroke:#000}svg .learned-proxy{fill:var(--learned);stroke:#000}
svg .season{fill:url(#season-hatch)}svg .density{fill:#444}
.cards{display:flex;flex-wrap:wrap;gap:0 28px;align-items:flex-start}
.pager{margin:.3em 0}.pager button{font:inherit;margin-right:.5em}
@media screen{.off-page{display:none}}
@media print{body{max-width:none;font-size:11px}.pager,nav.toc,th button::after{display:none}a{color:inherit;text-decoration:none}svg.timeline{break-inside:avoid}tr{break-inside:avoid}}
)css";

// Sorting, paging and the jump to a scan's row; the page reads fine without it.
constexpr std::string_view script = R"js(
(function () {
  "use strict";
  var pageSize = Number(document.body.getAttribute("data-page-size"));
  var pagers = [];
  function makePager(container) {
    var items = function () { return Array.prototype.filter.call(container.children, function (e) { return e.classList.contains("page-item"); }); };
    var pager = { container: container, page: 0, items: items, nav: null };
    pager.show = function (p) {
      var all = items(), pages = Math.max(1, Math.ceil(all.length / pageSize));
      pager.page = Math.min(Math.max(0, p), pages - 1);
      all.forEach(function (e, i) { e.classList.toggle("off-page", Math.floor(i / pageSize) !== pager.page); });
      if (pager.nav) pager.nav.querySelector("output").textContent = "page " + (pager.page + 1) + " of " + pages + " (" + all.length + ")";
    };
    if (items().length > pageSize) {
      var nav = document.createElement("div");
      nav.className = "pager";
      ["previous", "next"].forEach(function (what, k) {
        var b = document.createElement("button");
        b.type = "button";
        b.textContent = what;
        b.addEventListener("click", function () { pager.show(pager.page + (k === 0 ? -1 : 1)); });
        nav.appendChild(b);
      });
      var out = document.createElement("output");
      out.setAttribute("aria-live", "polite");
      nav.appendChild(out);
      container.parentNode.insertBefore(nav, container);
      pager.nav = nav;
    }
    pager.show(0);
    pagers.push(pager);
    return pager;
  }
  function sortKey(tbody, col) {
    var cell = tbody.rows[0].cells[col];
    return cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent;
  }
  function compare(a, b) {
    var x = Number(a), y = Number(b);
    if (a !== "" && b !== "" && isFinite(x) && isFinite(y)) return x - y;
    return a < b ? -1 : a > b ? 1 : 0;
  }
  document.querySelectorAll("[data-pager]").forEach(function (container) {
    var pager = makePager(container);
    container.querySelectorAll("th button[data-col]").forEach(function (button) {
      button.addEventListener("click", function () {
        var th = button.parentNode, col = Number(button.getAttribute("data-col"));
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        container.querySelectorAll("th[aria-sort]").forEach(function (h) { h.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var rows = pager.items();
        rows.sort(function (p, q) { var d = compare(sortKey(p, col), sortKey(q, col)); return ascending ? d : -d; });
        rows.forEach(function (r) { container.appendChild(r); });
        pager.show(0);
      });
    });
  });
  function reveal() {
    var id = decodeURIComponent(location.hash.slice(1));
    var target = id ? document.getElementById(id) : null;
    if (!target) return;
    pagers.forEach(function (p) {
      var i = p.items().indexOf(target);
      if (i >= 0) p.show(Math.floor(i / pageSize));
    });
    target.querySelectorAll("details").forEach(function (d) { d.open = true; });
    target.scrollIntoView();
  }
  window.addEventListener("hashchange", reveal);
  window.addEventListener("beforeprint", function () { document.querySelectorAll("details").forEach(function (d) { d.open = true; }); });
  reveal();
})();
)js";

// The timeline's geometry: time on x over the plot area right of the lane labels.
struct time_axis {
    static constexpr double label_width = 190, plot_width = 990, width = label_width + plot_width + 20;
    std::int64_t from = 0, to = 1;

    double x(record_time t) const {
        const double share = static_cast<double>(micros(t) - from) / static_cast<double>(to - from);
        return label_width + std::clamp(share, 0.0, 1.0) * plot_width;
    }
};

// Tick spacing: the smallest step that gives at most 9 ticks, from 100 ms to 4 weeks.
std::int64_t tick_step(std::int64_t span_us) {
    static constexpr std::int64_t s = 1'000'000, m = 60 * s, h = 60 * m, d = 24 * h;
    static constexpr std::array<std::int64_t, 25> steps{
        s / 10, s / 5, s / 2, s, 2 * s, 5 * s, 10 * s, 15 * s, 30 * s, m, 2 * m, 5 * m, 10 * m,
        15 * m, 30 * m, h, 2 * h, 3 * h, 6 * h, 12 * h, d, 2 * d, 7 * d, 14 * d, 28 * d};
    for (const std::int64_t step : steps)
        if (span_us / step <= 8) return step;
    return (span_us / 8 / d + 1) * d;
}

std::string tick_label(std::int64_t at, std::int64_t step) {
    const std::string t = sipdetect::format_rfc3339(record_time{sipdetect::record_duration{at}});
    if (step < 1'000'000) return t.substr(11, 12);
    if (step < 60'000'000) return t.substr(11, 8);
    if (step < 86'400'000'000) return t.substr(11, 5);
    return t.substr(0, 10);
}

struct lane {
    std::string label;
    std::vector<const scan_event*> scans;
    const proxy_event* new_proxy = nullptr;
    const known_proxy* learned = nullptr;
};

// Beyond this many lanes in a group the remaining sources share one density lane.
constexpr std::size_t max_lanes_per_group = 200;
constexpr double row_height = 13, lane_gap = 5;

class timeline_writer {
public:
    timeline_writer(const report_data& data, page& out) : data_(data), out_(out) {}

    void write() {
        axis_ = domain();
        std::vector<lane> scanner_lanes = scan_lanes();
        std::vector<const scan_event*> scans_aggregated = split_off(scanner_lanes);
        std::vector<lane> proxy_lanes, learned_lanes;
        for (const proxy_event& p : data_.new_proxies) proxy_lanes.push_back(lane{p.source.to_string(), {}, &p, nullptr});
        const std::vector<known_proxy> learned = silently_learned(); // the lanes point into it
        for (const known_proxy& k : learned) learned_lanes.push_back(lane{k.address.to_string(), {}, nullptr, &k});
        const std::size_t proxies_aggregated = cut(proxy_lanes), learned_aggregated = cut(learned_lanes);
        std::vector<const campaign_event*> campaign_lanes;
        for (const auto& [id, c] : data_.campaigns)
            if (campaign_lanes.size() < max_lanes_per_group) campaign_lanes.push_back(&c);
        const std::size_t campaigns_aggregated = data_.campaigns.size() - campaign_lanes.size();

        // The lanes first, into their own buffer: the height is known once they are laid out.
        page lanes;
        double y = 48;
        group_header(lanes, y, fmt::format("Scanners ({} sources)", scanner_lanes.size() + distinct_sources(scans_aggregated)));
        for (const lane& l : scanner_lanes) write_scan_lane(lanes, l, y);
        if (!scans_aggregated.empty()) write_scan_density(lanes, scans_aggregated, y);
        if (data_.campaigns_on) {
            group_header(lanes, y, fmt::format("Campaigns ({})", data_.campaigns.size()));
            for (const campaign_event* c : campaign_lanes) write_campaign_lane(lanes, *c, y);
            if (campaigns_aggregated > 0)
                note_lane(lanes, y, fmt::format("{} more campaigns: see the table", campaigns_aggregated));
        }
        group_header(lanes, y, fmt::format("New proxies ({})", data_.new_proxies.size()));
        for (const lane& l : proxy_lanes) write_proxy_lane(lanes, l, y);
        if (proxies_aggregated > 0) note_lane(lanes, y, fmt::format("{} more new proxies: see the table", proxies_aggregated));
        group_header(lanes, y, fmt::format("Learned proxies ({})", learned_lanes.size() + learned_aggregated));
        for (const lane& l : learned_lanes) write_proxy_lane(lanes, l, y);
        if (learned_aggregated > 0) note_lane(lanes, y, fmt::format("{} more learned proxies: see the table", learned_aggregated));
        const double height = y + 20;

        out_.add(R"~(<svg class="timeline" id="timeline-svg" viewBox="0 0 {:.0f} {:.0f}" role="img" aria-labelledby="tl-title tl-desc" xmlns="http://www.w3.org/2000/svg">)~",
                 time_axis::width, height);
        out_.add(R"~(<title id="tl-title">Timeline of scans and proxies, UTC</title><desc id="tl-desc">{} scans of {} sources, {} new proxies, {} proxies learned in the ClosedSeason; time runs from {} to {} UTC.</desc>)~",
                 data_.scans.size(), scanner_lanes.size() + (scans_aggregated.empty() ? 0 : 1), data_.new_proxies.size(),
                 learned_lanes.size() + learned_aggregated, sipdetect::format_rfc3339(at(axis_.from)),
                 sipdetect::format_rfc3339(at(axis_.to)));
        out_.raw(R"~(<defs><pattern id="season-hatch" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="8" height="8" fill="#eeeeee"/><rect width="3" height="8" fill="#d0d0d0"/></pattern>)~"
                 R"~(<pattern id="texture-options" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="2" height="6" fill="#000" fill-opacity="0.35"/></pattern>)~"
                 R"~(<pattern id="texture-invite" width="5" height="5" patternUnits="userSpaceOnUse"><circle cx="2.5" cy="2.5" r="1.2" fill="#000" fill-opacity="0.45"/></pattern></defs>)~");
        write_season(height);
        write_ticks(height);
        out_.raw(lanes.take());
        out_.raw("</svg>\n");
    }

private:
    static record_time at(std::int64_t us) { return record_time{sipdetect::record_duration{us}}; }

    time_axis domain() const {
        std::int64_t lo = std::numeric_limits<std::int64_t>::max(), hi = std::numeric_limits<std::int64_t>::min();
        const auto include = [&](record_time t) {
            lo = std::min(lo, micros(t));
            hi = std::max(hi, micros(t));
        };
        if (data_.records > 0) {
            include(data_.first_record);
            include(data_.last_record);
        }
        for (const auto& [id, s] : data_.scans) {
            include(s.first_seen);
            include(s.last_seen);
        }
        for (const proxy_event& p : data_.new_proxies) {
            include(p.first_seen);
            include(p.last_seen);
            include(p.detected_at);
        }
        for (const known_proxy& k : data_.learned) {
            include(k.first_seen);
            include(k.last_seen);
        }
        if (lo > hi) lo = hi = 0;
        // A margin of 2 % each side, and at least a second in all.
        const std::int64_t margin = std::max<std::int64_t>((hi - lo) / 50, 500'000);
        return time_axis{lo - margin, hi + margin};
    }

    std::vector<lane> scan_lanes() const {
        std::map<sipdetect::ip_address, lane> by_source;
        for (const auto& [id, s] : data_.scans) {
            lane& l = by_source[s.source];
            l.label = s.source.to_string();
            l.scans.push_back(&s);
        }
        std::vector<lane> lanes;
        for (auto& [address, l] : by_source) lanes.push_back(std::move(l));
        return lanes;
    }

    static std::uint64_t requests_of(const lane& l) {
        std::uint64_t n = 0;
        for (const scan_event* s : l.scans) n += s->requests;
        return n;
    }
    static record_time start_of(const lane& l) {
        record_time t = record_time::max();
        for (const scan_event* s : l.scans) t = std::min(t, s->first_seen);
        return t;
    }

    // Keeps the busiest max_lanes_per_group sources (in time order) and returns the scans of the rest.
    static std::vector<const scan_event*> split_off(std::vector<lane>& lanes) {
        std::vector<const scan_event*> rest;
        if (lanes.size() > max_lanes_per_group) {
            std::stable_sort(lanes.begin(), lanes.end(),
                             [](const lane& a, const lane& b) { return requests_of(a) > requests_of(b); });
            for (auto it = lanes.begin() + max_lanes_per_group; it != lanes.end(); ++it)
                rest.insert(rest.end(), it->scans.begin(), it->scans.end());
            lanes.resize(max_lanes_per_group);
        }
        std::stable_sort(lanes.begin(), lanes.end(), [](const lane& a, const lane& b) { return start_of(a) < start_of(b); });
        return rest;
    }
    static std::size_t cut(std::vector<lane>& lanes) {
        const std::size_t over = lanes.size() > max_lanes_per_group ? lanes.size() - max_lanes_per_group : 0;
        lanes.resize(lanes.size() - over);
        return over;
    }
    static std::size_t distinct_sources(const std::vector<const scan_event*>& scans) {
        std::set<sipdetect::ip_address> sources;
        for (const scan_event* s : scans) sources.insert(s->source);
        return sources.size();
    }

    std::vector<known_proxy> silently_learned() const {
        std::set<sipdetect::ip_address> reported;
        for (const proxy_event& p : data_.new_proxies) reported.insert(p.source);
        std::vector<known_proxy> out;
        for (const known_proxy& k : data_.learned)
            if (!reported.contains(k.address)) out.push_back(k);
        return out;
    }

    static double lane_height(const lane& l) {
        return static_cast<double>(std::max<std::size_t>(l.scans.size(), 1)) * row_height + lane_gap;
    }

    void write_season(double height) {
        const auto closed = data_.proxy.closed_season;
        if (closed.count() <= 0 || data_.season_end == record_time::max()) return;
        const record_time start = data_.season_end - closed;
        const double x0 = axis_.x(start), x1 = axis_.x(data_.season_end);
        if (x1 <= x0) return;
        out_.add(R"~(<rect class="season" x="{:.1f}" y="30" width="{:.1f}" height="{:.1f}" data-from="{}" data-to="{}"><title>ClosedSeason: SIPPROXY learns proxies silently from {} to {}</title></rect>)~",
                 x0, x1 - x0, height - 30, sipdetect::format_rfc3339(start), sipdetect::format_rfc3339(data_.season_end),
                 table_time(start), table_time(data_.season_end));
        out_.add(R"~(<text x="{:.1f}" y="{:.1f}" class="muted">ClosedSeason</text>)~", x0 + 3, height - 6);
    }

    void write_ticks(double height) {
        const std::int64_t step = tick_step(axis_.to - axis_.from);
        std::int64_t first = axis_.from / step * step;
        if (first < axis_.from) first += step;
        out_.add(R"~(<line class="axis" x1="{0}" y1="30" x2="{1}" y2="30"/><text x="4" y="14" class="group-label">UTC</text><text x="4" y="27" class="muted">{2}</text>)~",
                 time_axis::label_width, time_axis::label_width + time_axis::plot_width,
                 sipdetect::format_rfc3339(at(axis_.from)).substr(0, 10));
        for (std::int64_t t = first; t <= axis_.to; t += step) {
            const double x = axis_.x(at(t));
            out_.add(R"~(<line class="grid" x1="{0:.1f}" y1="30" x2="{0:.1f}" y2="{1:.0f}"/><line class="axis" x1="{0:.1f}" y1="25" x2="{0:.1f}" y2="30"/><text class="tick" x="{0:.1f}" y="20" text-anchor="middle">{2}</text>)~",
                     x, height, tick_label(t, step));
        }
    }

    static void group_header(page& out, double& y, const std::string& text) {
        out.add(R"~(<text class="group-label" x="4" y="{:.0f}">{}</text>)~", y + 14, html_text(text));
        y += 22;
    }
    static void note_lane(page& out, double& y, const std::string& text) {
        out.add(R"~(<text class="muted" x="{:.0f}" y="{:.0f}">{}</text>)~", time_axis::label_width + 4, y + 10,
                 html_text(text));
        y += row_height + lane_gap;
    }

    void write_scan_lane(page& out, const lane& l, double& y) const {
        out.add(R"~(<text class="lane-label" x="{:.0f}" y="{:.0f}" text-anchor="end">{}</text>)~",
                 time_axis::label_width - 6, y + 10, html_text(l.label));
        double row = y;
        for (const scan_event* s : l.scans) {
            const double x0 = axis_.x(s->first_seen), w = std::max(3.0, axis_.x(s->last_seen) - x0);
            const std::string_view sm = sipdetect::to_string(s->submethod), kind = sipdetect::to_string(s->kind);
            out.add(R"~(<a href="#scan-{0}"><rect class="bar sm-{1}" data-scan="{0}" data-source="{2}" data-submethod="{1}" data-kind="{3}" data-first="{4}" data-last="{5}" x="{6:.1f}" y="{7:.1f}" width="{8:.1f}" height="{9:.0f}">)~"
                     R"~(<title>{2} {1} scan, {3}: {10} hosts, {11} users, {12} targets, {13} requests, {14} targets answered 2xx, {15} with errors{16}; {17} to {18} UTC</title></rect>)~",
                     s->id, sm, html_text(s->source.to_string()), kind, sipdetect::format_rfc3339(s->first_seen),
                     sipdetect::format_rfc3339(s->last_seen), x0, row + 1, w, row_height - 3, s->hosts, s->users,
                     s->targets, s->requests, s->successful_targets, s->failed_targets,
                     s->tool.empty() ? std::string() : ", tool " + html_text(s->tool), table_time(s->first_seen),
                     table_time(s->last_seen));
            write_bar_marks(out, x0, w, row, sm, kind);
            row += row_height;
        }
        y += lane_height(l);
    }

    // A bar's texture (by submethod, for readers who cannot tell its colour) and its kind letter; closes its link.
    static void write_bar_marks(page& out, double x0, double w, double row, std::string_view submethod,
                                std::string_view kind) {
        if (submethod != "register")
            out.add(R"~(<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.0f}" fill="url(#texture-{})" pointer-events="none"/>)~",
                    x0, row + 1, w, row_height - 3, submethod);
        out.add(R"~(<text class="kind" x="{:.1f}" y="{:.1f}" aria-hidden="true">{}</text></a>)~", x0 + w + 3,
                row + row_height - 3, static_cast<char>(std::toupper(static_cast<unsigned char>(kind[0]))));
    }

    void write_campaign_lane(page& out, const campaign_event& c, double& y) const {
        out.add(R"~(<text class="lane-label" x="{:.0f}" y="{:.0f}" text-anchor="end">campaign #{}</text>)~",
                time_axis::label_width - 6, y + 10, c.id);
        const double x0 = axis_.x(c.first_seen), w = std::max(3.0, axis_.x(c.last_seen) - x0);
        const std::string_view sm = sipdetect::to_string(c.submethod), kind = sipdetect::to_string(c.kind);
        out.add(R"~(<a href="#campaign-{0}"><rect class="campaign-bar sm-{1}" data-campaign="{0}" data-submethod="{1}" data-kind="{2}" data-first="{3}" data-last="{4}" x="{5:.1f}" y="{6:.1f}" width="{7:.1f}" height="{8:.0f}">)~"
                R"~(<title>campaign #{0}, {1}, {2}: {9} sources sharing {10}; {11} hosts, {12} users, {13} targets, {14} requests; {15} to {16} UTC</title></rect>)~",
                c.id, sm, kind, sipdetect::format_rfc3339(c.first_seen), sipdetect::format_rfc3339(c.last_seen), x0,
                y + 1, w, row_height - 3, c.sources, html_text(c.fingerprint), c.hosts, c.users, c.targets, c.requests,
                table_time(c.first_seen), table_time(c.last_seen));
        write_bar_marks(out, x0, w, y, sm, kind);
        y += row_height + lane_gap;
    }

    // The scans of sources without a lane of their own: how many are active, in 200 slices of time.
    void write_scan_density(page& out, const std::vector<const scan_event*>& scans, double& y) const {
        constexpr int bins = 200;
        std::array<std::uint32_t, bins> active{};
        const double bin_us = static_cast<double>(axis_.to - axis_.from) / bins;
        for (const scan_event* s : scans) {
            const auto bin_of = [&](record_time t) {
                return std::clamp(static_cast<int>(static_cast<double>(micros(t) - axis_.from) / bin_us), 0, bins - 1);
            };
            for (int b = bin_of(s->first_seen); b <= bin_of(s->last_seen); ++b) ++active[static_cast<std::size_t>(b)];
        }
        const std::uint32_t peak = *std::max_element(active.begin(), active.end());
        out.add(R"~(<text class="lane-label" x="{:.0f}" y="{:.0f}" text-anchor="end">{} more sources</text>)~",
                 time_axis::label_width - 6, y + 10, distinct_sources(scans));
        const double bin_width = time_axis::plot_width / bins;
        for (int b = 0; b < bins; ++b) {
            const std::uint32_t n = active[static_cast<std::size_t>(b)];
            if (n == 0) continue;
            const std::int64_t from = axis_.from + static_cast<std::int64_t>(bin_us * b);
            out.add(R"~(<rect class="density" x="{:.1f}" y="{:.1f}" width="{:.2f}" height="{:.0f}" fill-opacity="{:.2f}"><title>{} scans active from {} UTC</title></rect>)~",
                     time_axis::label_width + bin_width * b, y + 1, bin_width, row_height - 3,
                     0.15 + 0.85 * n / peak, n, table_time(at(from)));
        }
        y += row_height + lane_gap;
    }

    void write_proxy_lane(page& out, const lane& l, double& y) const {
        out.add(R"~(<text class="lane-label" x="{:.0f}" y="{:.0f}" text-anchor="end">{}</text>)~",
                 time_axis::label_width - 6, y + 10, html_text(l.label));
        const record_time first = l.new_proxy ? l.new_proxy->first_seen : l.learned->first_seen;
        const record_time last = l.new_proxy ? l.new_proxy->last_seen : l.learned->last_seen;
        const double mid = y + row_height / 2;
        out.add(R"~(<line class="span" x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}"/>)~", axis_.x(first), mid,
                 std::max(axis_.x(last), axis_.x(first) + 1), mid);
        if (l.new_proxy) {
            const proxy_event& p = *l.new_proxy;
            const double x = axis_.x(p.detected_at);
            out.add(R"~(<a href="#proxy-{0}"><path class="marker new-proxy" data-proxy="{0}" data-source="{1}" data-detected="{2}" d="M{3:.1f} {4:.1f}l5 5.5l-5 5.5l-5 -5.5z">)~"
                     R"~(<title>new proxy {1}: {5} From URIs, {6} peers, verdict at {7} UTC (requests {8} to {9})</title></path></a>)~",
                     p.id, html_text(p.source.to_string()), sipdetect::format_rfc3339(p.detected_at), x, y, p.uris,
                     p.peers.size(), table_time(p.detected_at), table_time(p.first_seen), table_time(p.last_seen));
        } else {
            const known_proxy& k = *l.learned;
            out.add(R"~(<a href="#learned-{0}"><circle class="marker learned-proxy" data-source="{1}" data-learned="{2}" cx="{3:.1f}" cy="{4:.1f}" r="4.5">)~"
                     R"~(<title>proxy {1} learned at {5} UTC (requests {6} to {7})</title></circle></a>)~",
                     address_key(k.address), html_text(k.address.to_string()), sipdetect::format_rfc3339(k.learned_at),
                     axis_.x(k.learned_at), mid, table_time(k.learned_at), table_time(k.first_seen),
                     table_time(k.last_seen));
        }
        y += lane_height(l);
    }

    const report_data& data_;
    page& out_;
    time_axis axis_;
};

void write_summary(const report_data& d, page& out) {
    out.raw(R"~(<section id="summary"><h2>Summary</h2><div class="cards"><table><caption>Run</caption><tbody>)~");
    out.raw(R"~(<tr><th scope="row">Inputs</th><td>)~");
    for (const std::string& input : d.inputs) out.add(R"~(<code>{}</code><br>)~", html_text(input, 1024));
    out.raw("</td></tr>");
    if (d.records > 0)
        out.add(R"~(<tr><th scope="row">Time span</th><td>{} to {} UTC ({})</td></tr>)~", table_time(d.first_record),
                table_time(d.last_record), span_text(micros(d.last_record) - micros(d.first_record)));
    else out.raw(R"~(<tr><th scope="row">Time span</th><td>no records</td></tr>)~");
    out.add(R"~(<tr><th scope="row">Records read</th><td class="n" id="records-read">{}</td></tr></tbody></table>)~", d.records);

    out.raw(R"~(<table id="message-types"><caption>Records by message type (a response counts under its CSeq method)</caption><thead><tr><th scope="col">Method</th><th scope="col" class="n">Requests</th>)~");
    for (const std::string_view c : {"1xx", "2xx", "3xx", "4xx", "5xx", "6xx", "other status"})
        out.add(R"~(<th scope="col" class="n">{}</th>)~", c);
    out.raw("</tr></thead><tbody>");
    for (std::size_t m = 0; m < d.messages.by_method.size(); ++m) {
        const auto& row = d.messages.by_method[m];
        if (std::all_of(row.begin(), row.end(), [](std::uint64_t n) { return n == 0; })) continue;
        out.add(R"~(<tr><th scope="row">{}</th>)~", sipdetect::sip_method_names[m]);
        for (const std::uint64_t n : row) out.add(R"~(<td class="n">{}</td>)~", n);
        out.raw("</tr>");
    }
    out.raw("</tbody></table>");

    std::size_t active = 0;
    for (const auto& [id, s] : d.scans) active += s.phase != sipdetect::scan_phase::end;
    std::size_t in_training = 0;
    for (const known_proxy& k : d.learned) in_training += k.learned_in_training;
    out.raw(R"~(<table id="events-by-detector"><caption>Events by detector</caption><thead><tr><th scope="col">Detector</th><th scope="col">Events</th><th scope="col">Shown</th></tr></thead><tbody>)~");
    out.add(R"~(<tr><th scope="row">sipscan</th><td>{} start, {} update, {} end</td><td>scans: {} ({} still active){}</td></tr>)~",
            d.scan_events_by_phase[0], d.scan_events_by_phase[1], d.scan_events_by_phase[2], d.scans.size(), active,
            d.scans_let_go > 0 ? fmt::format("; {} older scans left out (the report keeps {})", d.scans_let_go, report_data::max_kept) : "");
    out.add(R"~(<tr><th scope="row">sipproxy</th><td>{} new_proxy</td><td>new proxies: {}{}; proxies in the baseline: {} ({} learned in the ClosedSeason)</td></tr>)~",
            d.proxy_events, d.new_proxies.size(),
            d.proxies_let_go > 0 ? fmt::format(" ({} older left out)", d.proxies_let_go) : "", d.learned.size(), in_training);
    if (d.campaigns_on) {
        std::size_t campaigns_active = 0;
        for (const auto& [id, c] : d.campaigns) campaigns_active += c.phase != sipdetect::scan_phase::end;
        out.add(R"~(<tr><th scope="row">sipcampaign</th><td>{} start, {} update, {} end</td><td>campaigns: {} ({} still active){}</td></tr>)~",
                d.campaign_events_by_phase[0], d.campaign_events_by_phase[1], d.campaign_events_by_phase[2],
                d.campaigns.size(), campaigns_active,
                d.campaigns_let_go > 0 ? fmt::format("; {} older campaigns left out", d.campaigns_let_go) : "");
    } else {
        out.raw(R"~(<tr><th scope="row">sipcampaign</th><td colspan="2">off (--no-campaigns)</td></tr>)~");
    }
    out.raw("</tbody></table>");

    const auto& s = d.scan;
    std::string submethods;
    for (const auto& [on, name] : {std::pair{s.register_scan, "register"}, {s.options_scan, "options"}, {s.invite_scan, "invite"}})
        if (on) submethods += submethods.empty() ? name : fmt::format(", {}", name);
    out.raw(R"~(<table id="settings"><caption>Settings</caption><tbody>)~");
    const auto setting = [&](std::string_view name, const std::string& value) {
        out.add(R"~(<tr><th scope="row">{}</th><td>{}</td></tr>)~", name, html_text(value, 1024));
    };
    setting("SIPSCAN threshold", fmt::format("{} distinct targets", s.threshold));
    setting("SIPSCAN submethods", submethods.empty() ? "none" : submethods);
    setting("SIPSCAN responder filter", s.destination_filter.empty() ? "all responders" : s.destination_filter.to_string());
    setting("SIPSCAN event idle timeout", span_text(s.event_idle_timeout.count()));
    setting("SIPSCAN targets in an event's sample", fmt::format("{}", s.evidence_targets));
    setting("SIPPROXY minimum From URIs", fmt::format("{}", d.proxy.min_uris));
    setting("SIPPROXY ClosedSeason", days_text(d.proxy.closed_season));
    setting("SIPPROXY TimeToDeath", days_text(d.proxy.time_to_death));
    setting("SIPPROXY filter", d.proxy.filter.empty()
                                   ? std::string("none")
                                   : fmt::format("{} ({})", d.proxy.filter.to_string(),
                                                 d.proxy.filter_mode == sipdetect::proxy_filter_mode::exclude_devices
                                                     ? "devices inside never reported"
                                                     : "traffic with both ends inside ignored"));
    if (d.campaigns_on) {
        setting("SIPCAMPAIGN threshold", fmt::format("{} distinct targets within {}, by at least {} sources",
                                                     d.campaign.campaign_threshold,
                                                     span_text(d.campaign.campaign_window.count()), d.campaign.min_sources));
    }
    setting("Tracked sources per detector, at most", fmt::format("{}", s.max_tracked));
    setting("State file", d.state_file ? *d.state_file : "none");
    out.raw("</tbody></table></div></section>\n");
}

void write_legend(page& out) {
    out.raw(R"~(<p class="legend">)~"
            R"~(<span><svg width="16" height="12" aria-hidden="true"><rect width="16" height="12" class="sm-register"/></svg> REGISTER scan</span>)~"
            R"~(<span><svg width="16" height="12" aria-hidden="true"><rect width="16" height="12" class="sm-options"/><rect width="16" height="12" fill="url(#texture-options)"/></svg> OPTIONS scan (hatched)</span>)~"
            R"~(<span><svg width="16" height="12" aria-hidden="true"><rect width="16" height="12" class="sm-invite"/><rect width="16" height="12" fill="url(#texture-invite)"/></svg> INVITE scan (dotted)</span>)~"
            R"~(<span>H, V, M: horizontal, vertical, mixed</span>)~"
            R"~(<span><svg width="16" height="12" aria-hidden="true"><rect x="1" y="1" width="14" height="10" fill="#fff" stroke="#000" stroke-width="1.2" stroke-dasharray="3 2"/></svg> campaign (dashed outline)</span>)~"
            R"~(<span><svg width="12" height="12" aria-hidden="true"><path d="M6 0.5l5 5.5l-5 5.5l-5 -5.5z" fill="#009e73" stroke="#000"/></svg> new proxy (verdict)</span>)~"
            R"~(<span><svg width="12" height="12" aria-hidden="true"><circle cx="6" cy="6" r="4.5" fill="#56b4e9" stroke="#000"/></svg> proxy learned</span>)~"
            R"~(<span><span class="swatch" style="background:#e0e0e0"></span>ClosedSeason</span></p>)~");
}

void write_sample(const scan_event& s, page& out) {
    out.add(R"~(<details><summary>Target sample: {} of {} targets; {} user agents</summary>)~", s.sample.size(),
            s.targets, s.user_agents.size());
    if (!s.sample.empty()) {
        out.raw(R"~(<table class="sample"><thead><tr><th scope="col">Host</th><th scope="col" class="n">Port</th><th scope="col">Called user</th><th scope="col">Answer</th></tr></thead><tbody>)~");
        for (const sipdetect::scan_target& t : s.sample)
            out.add(R"~(<tr><td>{}<td class="n">{}<td>{}<td class="{}">{}</tr>)~", html_text(t.host.to_string()), t.port,
                    html_text(t.user), answer_class(t), answer_text(t));
        out.raw("</tbody></table>");
    }
    if (!s.user_agents.empty()) {
        out.raw(R"~(<p>User agents:</p><ul class="user-agents">)~");
        for (const std::string& ua : s.user_agents) out.add(R"~(<li class="mono">{}</li>)~", html_text(ua));
        out.raw("</ul>");
    }
    out.raw("</details>");
}

// A section's heading and introduction. False, after saying so and closing the section, when it has nothing to show.
bool open_section(page& out, std::string_view id, std::string_view title, const std::string& introduction,
                  bool empty, std::string_view nothing) {
    out.add(R"~(<section id="{}"><h2>{}</h2><p>{}</p>)~", id, title, introduction);
    if (empty) out.add("<p>{}</p></section>\n", nothing);
    return !empty;
}

void write_scans(const report_data& d, page& out) {
    if (!open_section(out, "scans", "Scans",
                      fmt::format("{} scans, one row each with its latest event. A column's heading sorts by it; a "
                                  "row's sample holds the targets its events carried, with their answers.",
                                  d.scans.size()),
                      d.scans.empty(), "No scan."))
        return;
    out.raw(R"~(<table id="scan-table" class="sortable" data-pager><caption>Scans</caption><thead><tr>)~");
    static constexpr std::array<std::pair<std::string_view, bool>, 11> columns{{
        {"Source", false}, {"Submethod", false}, {"Kind", false}, {"Hosts", true}, {"Users", true},
        {"Targets", true}, {"Requests", true}, {"Answered 2xx / error", true}, {"Tool", false},
        {"First seen (UTC)", false}, {"Last seen (UTC)", false}}};
    for (std::size_t c = 0; c < columns.size(); ++c)
        out.add(R"~(<th scope="col" aria-sort="none"{}><button type="button" data-col="{}">{}</button></th>)~",
                columns[c].second ? R"~( class="n")~" : "", c, columns[c].first);
    out.raw("</tr></thead>");
    std::size_t index = 0;
    for (const auto& [id, s] : d.scans) {
        out.add(R"~(<tbody id="scan-{}" class="scan {}" data-source="{}" data-first="{}" data-last="{}"><tr class="scan-row">)~",
                id, page_item(index++), html_text(s.source.to_string()), sipdetect::format_rfc3339(s.first_seen),
                sipdetect::format_rfc3339(s.last_seen));
        out.add(R"~(<th scope="row" class="mono" data-sort="{}"><a href="#targets-{}">{}</a></th><td>{}</td><td>{}</td>)~",
                address_key(s.source), id, html_text(s.source.to_string()), sipdetect::to_string(s.submethod),
                sipdetect::to_string(s.kind));
        const char* more = s.counts_saturated ? "+" : "";
        out.add(R"~(<td class="n" data-sort="{0}">{0}{3}</td><td class="n" data-sort="{1}">{1}{3}</td><td class="n" data-sort="{2}">{2}{3}</td>)~",
                s.hosts, s.users, s.targets, more);
        out.add(R"~(<td class="n" data-sort="{0}">{0}</td><td class="n" data-sort="{1}">{1} / {2}</td><td>{3}</td>)~",
                s.requests, s.successful_targets, s.failed_targets, html_text(s.tool));
        out.add(R"~(<td data-sort="{}">{}</td><td data-sort="{}">{}{}</td></tr>)~", micros(s.first_seen),
                table_time(s.first_seen), micros(s.last_seen), table_time(s.last_seen),
                s.phase == sipdetect::scan_phase::end ? "" : " (active)");
        out.add(R"~(<tr class="scan-detail"><td colspan="{}">)~", columns.size());
        write_sample(s, out);
        out.raw("</td></tr></tbody>\n");
    }
    out.raw("</table></section>\n");
}

struct prefix_order {
    bool operator()(const sipdetect::ip_prefix& a, const sipdetect::ip_prefix& b) const noexcept {
        return std::pair(a.network(), a.length()) < std::pair(b.network(), b.length());
    }
};

void write_host_groups(const scan_event& s, page& out) {
    std::map<sipdetect::ip_prefix, std::vector<const sipdetect::scan_target*>, prefix_order> groups;
    for (const sipdetect::scan_target& t : s.sample) groups[group_prefix(t.host)].push_back(&t);
    out.raw(R"~(<table class="host-groups"><thead><tr><th scope="col">Network</th><th scope="col" class="n">Hosts in the sample</th><th scope="col" class="n">Answered</th><th scope="col">Hosts (port, answer)</th></tr></thead><tbody>)~");
    for (const auto& [prefix, targets] : groups) {
        std::set<sipdetect::ip_address> hosts, answered;
        for (const auto* t : targets) {
            hosts.insert(t->host);
            if (t->answered_success || t->answered_failure) answered.insert(t->host);
        }
        out.add(R"~(<tr><th scope="row" class="mono">{}</th><td class="n">{}</td><td class="n">{}</td><td class="chips">)~",
                html_text(prefix.to_string()), hosts.size(), answered.size());
        for (const auto* t : targets)
            out.add(R"~(<span class="{}">{}:{} {}</span>)~", answer_class(*t), host_in_group(t->host), t->port,
                    answer_text(*t));
        out.raw("</td></tr>");
    }
    out.raw("</tbody></table>");
}

void write_user_groups(const scan_event& s, page& out) {
    std::map<std::pair<sipdetect::ip_address, std::uint16_t>, std::vector<const sipdetect::scan_target*>> groups;
    for (const sipdetect::scan_target& t : s.sample) groups[{t.host, t.port}].push_back(&t);
    out.raw(R"~(<table class="user-groups"><thead><tr><th scope="col">Host</th><th scope="col" class="n">Users in the sample</th><th scope="col" class="n">Answered 2xx</th><th scope="col">Called users (answer)</th></tr></thead><tbody>)~");
    for (const auto& [host, targets] : groups) {
        const auto ok = std::count_if(targets.begin(), targets.end(), [](const auto* t) { return t->answered_success; });
        out.add(R"~(<tr><th scope="row" class="mono">{}:{}</th><td class="n">{}</td><td class="n">{}</td><td class="chips">)~",
                html_text(host.first.to_string()), host.second, targets.size(), ok);
        for (const auto* t : targets)
            out.add(R"~(<span class="{}">{} {}</span>)~", answer_class(*t),
                    t->user.empty() ? std::string("(no user)") : html_text(t->user), answer_text(*t));
        out.raw("</td></tr>");
    }
    out.raw("</tbody></table>");
}

void write_targets(const report_data& d, page& out) {
    out.raw(R"~(<section id="targets"><h2>Targets</h2><p>From each scan's sample: horizontal scans by /24 (IPv4) or /64 (IPv6) network, vertical scans by the called users at each host, mixed scans both ways. <span class="ok">Bold green</span>: answered 2xx; <span class="err">brown</span>: answered with an error; <span class="none">grey</span>: no answer. In a /24, hosts are shown by their last byte.</p><div id="target-list" data-pager>)~");
    std::size_t index = 0;
    for (const auto& [id, s] : d.scans) {
        out.add(R"~(<section class="targets {}" id="targets-{}"><h3><a href="#scan-{}">{} {} scan</a>, {}: {} hosts, {} users, {} targets; {} in the sample</h3>)~",
                page_item(index++), id, id, html_text(s.source.to_string()), sipdetect::to_string(s.submethod), sipdetect::to_string(s.kind),
                s.hosts, s.users, s.targets, s.sample.size());
        if (s.kind != sipdetect::scan_kind::vertical) write_host_groups(s, out);
        if (s.kind != sipdetect::scan_kind::horizontal) write_user_groups(s, out);
        out.raw("</section>\n");
    }
    out.raw("</div></section>\n");
}

std::string answer_share(const proxy_event& p) {
    if (!p.answers_judged) return "no responses in the input";
    if (p.requests == 0) return "no requests";
    return fmt::format("{:.0f} % ({} of {} requests answered 2xx)",
                       100.0 * static_cast<double>(p.successes) / static_cast<double>(p.requests), p.successes, p.requests);
}

void write_proxies(const report_data& d, page& out) {
    out.raw(R"~(<section id="proxies"><h2>Proxies</h2>)~");
    out.add(R"~(<table id="proxy-table" data-pager><caption>New proxies: found after the ClosedSeason ({})</caption><thead><tr><th scope="col">Address</th><th scope="col">Verdict (UTC)</th><th scope="col" class="n">From URIs</th><th scope="col">URI sample</th><th scope="col">Peers</th><th scope="col">Via depth</th><th scope="col">Answer share</th><th scope="col">Requests seen (UTC)</th><th scope="col">User agents</th></tr></thead>)~",
            d.new_proxies.size());
    std::size_t index = 0;
    for (const proxy_event& p : d.new_proxies) {
        out.add(R"~(<tbody class="{}" id="proxy-{}" data-source="{}"><tr><th scope="row" class="mono">{}</th><td>{}</td><td class="n">{}{}</td><td>)~",
                page_item(index++), p.id, html_text(p.source.to_string()), html_text(p.source.to_string()), table_time(p.detected_at), p.uris,
                p.counts_saturated ? "+" : "");
        for (const std::string& uri : p.uri_sample) out.add(R"~(<span class="chip mono">{}</span>)~", html_text(uri));
        out.raw("</td><td>");
        for (const auto& peer : p.peers) out.add(R"~(<span class="chip mono">{}</span>)~", html_text(peer.to_string()));
        out.add(R"~(</td><td>{}</td><td>{}</td><td>{} to {}</td><td>)~",
                p.min_via == 0 ? std::string("unknown") : fmt::format("{} to {}", p.min_via, p.max_via), answer_share(p),
                table_time(p.first_seen), table_time(p.last_seen));
        for (const std::string& ua : p.user_agents) out.add(R"~(<span class="chip mono">{}</span>)~", html_text(ua));
        out.raw("</td></tr></tbody>\n");
    }
    out.raw("</table>");

    out.add(R"~(<table id="learned-table" data-pager><caption>Learned proxies: the baseline when the report was written ({}); a proxy learned in the ClosedSeason raised no event, so only its times are known</caption><thead><tr><th scope="col">Address</th><th scope="col">Learned (UTC)</th><th scope="col">How</th><th scope="col">First request (UTC)</th><th scope="col">Latest request (UTC)</th></tr></thead>)~",
            d.learned.size());
    index = 0;
    for (const known_proxy& k : d.learned)
        out.add(R"~(<tbody class="{}" id="learned-{}"><tr><th scope="row" class="mono">{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr></tbody>)~",
                page_item(index++), address_key(k.address), html_text(k.address.to_string()), table_time(k.learned_at),
                k.learned_in_training ? "in the ClosedSeason, silently" : "after it: a new_proxy event", table_time(k.first_seen),
                table_time(k.last_seen));
    out.raw("</table></section>\n");
}

void write_campaigns(const report_data& d, page& out) {
    if (!open_section(out, "campaigns", "Campaigns",
                      fmt::format("{} campaigns: sources that share a probe fingerprint, each below the scan "
                                  "threshold, sweeping targets together. One row per campaign (its latest event).",
                                  d.campaigns.size()),
                      d.campaigns.empty(), "No campaign."))
        return;
    out.raw(R"~(<table id="campaign-table" data-pager><caption>Campaigns</caption><thead><tr><th scope="col">Campaign</th><th scope="col">Submethod</th><th scope="col">Kind</th><th scope="col" class="n">Sources</th><th scope="col">Sources (first members)</th><th scope="col">What they share</th><th scope="col" class="n">Hosts</th><th scope="col" class="n">Users</th><th scope="col" class="n">Targets</th><th scope="col" class="n">Requests</th><th scope="col">Tool</th><th scope="col">First seen (UTC)</th><th scope="col">Last seen (UTC)</th></tr></thead>)~");
    std::size_t index = 0;
    for (const auto& [id, c] : d.campaigns) {
        out.add(R"~(<tbody id="campaign-{0}" class="campaign {1}" data-first="{2}" data-last="{3}"><tr><th scope="row">#{0}</th><td>{4}</td><td>{5}</td><td class="n">{6}</td><td class="chips">)~",
                id, page_item(index++), sipdetect::format_rfc3339(c.first_seen), sipdetect::format_rfc3339(c.last_seen),
                sipdetect::to_string(c.submethod), sipdetect::to_string(c.kind), c.sources);
        for (const auto& member : c.source_sample) out.add("<span>{}</span>", html_text(member.to_string()));
        out.add(R"~(</td><td>{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td>{}</td><td>{}</td><td>{}{}</td></tr></tbody>)~",
                html_text(c.fingerprint, 1024), c.hosts, c.users, c.targets, c.requests, html_text(c.tool),
                table_time(c.first_seen), table_time(c.last_seen), c.phase == sipdetect::scan_phase::end ? "" : " (active)");
    }
    out.raw("</table></section>\n");
}

} // namespace

std::string render_report(const report_data& d) {
    page out;
    out.raw(R"~(<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">)~");
    out.raw(R"~(<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">)~");
    out.add("<title>sipdetect report{}</title><style>{}</style><noscript><style>.off-page{{display:revert}}</style></noscript></head><body data-page-size=\"{}\">",
            d.records > 0 ? fmt::format(", {} to {} UTC", table_time(d.first_record), table_time(d.last_record)) : "",
            style, page_size);
    out.add(R"~(<header><h1>sipdetect report</h1><p class="muted">sipdetect {}; every time is UTC.</p><nav class="toc"><a href="#summary">Summary</a><a href="#timeline">Timeline</a><a href="#scans">Scans</a><a href="#targets">Targets</a><a href="#proxies">Proxies</a>{}</nav></header><main>)~",
            SIPDETECT_VERSION_STRING, d.campaigns_on ? R"~(<a href="#campaigns">Campaigns</a>)~" : "");
    write_summary(d, out);
    out.raw(R"~(<section id="timeline"><h2>Timeline</h2>)~");
    write_legend(out);
    timeline_writer(d, out).write();
    out.raw("<p class=\"muted\">Hover a bar for its numbers; a bar or marker leads to its row.</p></section>\n");
    write_scans(d, out);
    write_targets(d, out);
    write_proxies(d, out);
    if (d.campaigns_on) write_campaigns(d, out);
    out.add("</main><script>{}</script></body></html>\n", script);
    return out.take();
}

html_report::html_report(std::string path, const options& opt) : path_(std::move(path)) {
    data_.inputs = opt.inputs;
    data_.scan = opt.scan;
    data_.proxy = opt.proxy;
    data_.campaign = opt.campaign;
    data_.campaigns_on = opt.campaigns;
    data_.state_file = opt.state;
}

void html_report::note_baseline(std::vector<known_proxy> learned, record_time season_end) {
    data_.learned = std::move(learned);
    data_.season_end = season_end;
}

void html_report::write() const {
    const std::string html = render_report(data_);
    const std::string temporary = path_ + ".tmp";
    std::FILE* f = std::fopen(temporary.c_str(), "wb");
    if (!f) throw report_error(fmt::format("report {}: {}", temporary, std::strerror(errno)));
    const bool written = std::fwrite(html.data(), 1, html.size(), f) == html.size();
    const int saved_errno = errno;
    if (std::fclose(f) != 0 || !written) {
        std::remove(temporary.c_str());
        throw report_error(fmt::format("report {}: {}", temporary, std::strerror(written ? errno : saved_errno)));
    }
    if (std::rename(temporary.c_str(), path_.c_str()) != 0) {
        const int rename_errno = errno;
        std::remove(temporary.c_str());
        throw report_error(fmt::format("report {}: {}", path_, std::strerror(rename_errno)));
    }
}

} // namespace sipdetect_cli
