// The version of this build, shown by --version and advertised to peers.
#pragma once
#include <string_view>
namespace specswarm::cli {
inline constexpr std::string_view kVersion = "0.1.0";
}
