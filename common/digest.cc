#include "common/digest.h"

#include <openssl/evp.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace gantry {

struct Sha256::State {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~State() { EVP_MD_CTX_free(ctx); }
};

Sha256::Sha256() : state_(std::make_unique<State>()) {
  EVP_DigestInit_ex(state_->ctx, EVP_sha256(), nullptr);
}
Sha256::~Sha256() = default;

void Sha256::Update(absl::string_view data) {
  EVP_DigestUpdate(state_->ctx, data.data(), data.size());
}

std::string Sha256::FinishHex() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(state_->ctx, md, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 0xf]);
  }
  return out;
}

std::string Sha256Hex(absl::string_view data) {
  Sha256 h;
  h.Update(data);
  return h.FinishHex();
}

absl::StatusOr<Digest> Digest::Parse(absl::string_view text) {
  auto colon = text.find(':');
  if (colon == absl::string_view::npos)
    return absl::InvalidArgumentError(
        absl::StrCat("invalid digest \"", text, "\": missing algorithm"));
  absl::string_view algorithm = text.substr(0, colon);
  absl::string_view hex = text.substr(colon + 1);
  if (algorithm != "sha256")
    return absl::InvalidArgumentError(
        absl::StrCat("invalid digest \"", text, "\": unsupported algorithm ", algorithm));
  if (hex.size() != 64)
    return absl::InvalidArgumentError(
        absl::StrCat("invalid digest \"", text, "\": expected 64 hex characters"));
  for (char c : hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return absl::InvalidArgumentError(
          absl::StrCat("invalid digest \"", text, "\": not lowercase hex"));
  }
  return Digest(std::string(hex));
}

Digest Digest::FromBytes(absl::string_view data) { return Digest(Sha256Hex(data)); }

}  // namespace gantry
