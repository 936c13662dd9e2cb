/* gradflow bench convolution */
#include "commands.h"
