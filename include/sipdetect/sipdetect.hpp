// sipdetect: everything but the optional fmt support and state files
// (<sipdetect/fmt.hpp>, <sipdetect/state_file.hpp>), in one include.
#pragma once

#include <sipdetect/address.hpp>
#include <sipdetect/campaign_detector.hpp>
#include <sipdetect/clock.hpp>
#include <sipdetect/errors.hpp>
#include <sipdetect/feed_all.hpp>
#include <sipdetect/json.hpp>
#include <sipdetect/proxy_detector.hpp>
#include <sipdetect/record.hpp>
#include <sipdetect/scan_detector.hpp>
#include <sipdetect/sip_parser.hpp>
#include <sipdetect/version.hpp>
