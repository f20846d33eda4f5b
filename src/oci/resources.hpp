// linux.resources → CgroupConfig's limits: for config.json at create, and for the
// resources file `rdbox update --resources FILE` reads (the same object, as runc's).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "oci/json_field.hpp"
#include "rdbox/config.hpp"
#include "rdbox/error.hpp"

namespace rdbox::oci {

// Fills the limits of `cg` from the object at `f` (absent: nothing). Errors name the field.
Status parse_resources_object(const Field& f, CgroupConfig& cg);

// An update's resources JSON text; `what` names it in errors ("--resources").
Expected<CgroupConfig> parse_resources_text(std::string_view text, const std::string& what);

// The device rules every container with a device list gets after its own (crun's and
// runc's defaults: mknod of any node, null, zero, full, tty, random, urandom, console,
// ptmx, /dev/pts/*, tun).
std::vector<CgroupDeviceRule> default_device_rules();

}  // namespace rdbox::oci
