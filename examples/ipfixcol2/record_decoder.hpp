// sipdetect ipfixcol2 output plugin: a libfds data record (fds_drec), as the
// collector received it, read as the sipdetect program's input_record.
#pragma once

#include "input_record.hpp"

#include <cstdint>

struct fds_drec;

namespace sipdetect_ipfixcol2 {

// What became of a data record.
enum class decode_result : std::uint8_t {
    sip,        // a SIP message, in the record
    not_sip,    // no SIP fields (other flows, ICMP, options records): skipped
    incomplete, // SIP fields, but no addresses, port or usable flow time: skipped
    wrong_size, // a field the plugin reads has a size its type does not allow: skipped
    no_status,  // a response without a SIP status code: skipped
    no_request, // Flowmon SIP fields without a Request-URI (a response: its status is not exported): skipped
};

// Reads the record's fields through libfds (fds_drec_iter; the integers
// byte by byte, see record_decoder.cpp):
// ipfixprobe's SIP elements (enterprise 8057, 100-108), Flowmon's
// (enterprise 39499: 34 sipCallingParty, 35 sipCalledParty, 36 sipVia,
// 51 sipUserAgent, 52 sipRequestUri, 53 sipCSeq), and the IANA addresses,
// ports, flow times and (forward and reverse) packet counts. `out` holds
// the message only for decode_result::sip; its strings keep their capacity.
decode_result decode(fds_drec& record, sipdetect_cli::input_record& out);

} // namespace sipdetect_ipfixcol2
