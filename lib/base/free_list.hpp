// base::FreeList: the fixed pool of pollux/free_list.hpp, under the name the layers use.
#pragma once

#include "pollux/free_list.hpp"

namespace pollux::base {

using pollux::FreeList;
using pollux::FreeListItem;

}  // namespace pollux::base
