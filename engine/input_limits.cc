#include "engine/input_limits.h"

#include "absl/strings/str_cat.h"

namespace limify {

absl::Status CheckFieldSize(std::string_view name, std::string_view value) {
  if (value.size() <= kMaxRequestFieldBytes) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      absl::string_view(name.data(), name.size()), " is ", value.size(),
      " bytes long; the most limify accepts is ", kMaxRequestFieldBytes));
}

absl::Status CheckRequestSizes(const Request& request) {
  const std::pair<std::string_view, std::string_view> fields[] = {
      {"method", request.method},   {"path", request.path},
      {"user_id", request.user_id}, {"org_id", request.org_id},
      {"api_key", request.api_key}, {"client_ip", request.client_ip},
      {"plan", request.plan}};
  for (const auto& [name, value] : fields) {
    if (absl::Status s = CheckFieldSize(name, value); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace limify
