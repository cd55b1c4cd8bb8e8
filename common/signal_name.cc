#include "common/signal_name.h"

#include <signal.h>
#include <string.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace gantry {

absl::StatusOr<int> ParseSignal(const std::string& text) {
  int number;
  if (absl::SimpleAtoi(text, &number)) {
    if (number <= 0 || number >= NSIG)
      return absl::InvalidArgumentError(absl::StrCat("invalid signal \"", text, "\""));
    return number;
  }
  std::string name = absl::AsciiStrToUpper(text);
  if (absl::StartsWith(name, "SIG")) name = name.substr(3);
  for (int sig = 1; sig < NSIG; ++sig) {
    const char* abbrev = sigabbrev_np(sig);
    if (abbrev && name == abbrev) return sig;
  }
  // RTMIN+n and RTMAX-n, with n keeping the signal within the real-time range.
  int offset = 0;
  int span = SIGRTMAX - SIGRTMIN;
  auto rt_offset = [&](char sign) {
    return name.size() > 6 && name[5] == sign && absl::SimpleAtoi(name.substr(6), &offset) &&
           offset >= 0 && offset <= span;
  };
  if (name == "RTMIN") return SIGRTMIN;
  if (name == "RTMAX") return SIGRTMAX;
  if (absl::StartsWith(name, "RTMIN") && rt_offset('+')) return SIGRTMIN + offset;
  if (absl::StartsWith(name, "RTMAX") && rt_offset('-')) return SIGRTMAX - offset;
  return absl::InvalidArgumentError(absl::StrCat("unknown signal \"", text, "\""));
}

}  // namespace gantry
