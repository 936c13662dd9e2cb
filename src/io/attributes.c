/*
  HDF5 attributes, read strictly and written plainly, for the snapshots (io) and the
  particle files (particles). Readers return false for anything but what is asked: a
  missing attribute, a wrong class, the wrong number of values, a fractional value where
  a whole number is asked. Writers return HDF5's status.
*/
#include "io.h"
#include <hdf5.h>

/*
  Numbers of an attribute converted to type: false unless it exists, is integer or floating
  point, and holds between 1 and max values (*n of them). Into long long only whole numbers
  convert (dim 1.5 or step NaN is damage, not 1 or 0).
*/
PETSC_INTERN PetscBool GFH5ReadNumbers(hid_t loc, const char name[], hid_t type, int max, void *value, int *n)
{
  hid_t       attr, space = -1, atype = -1;
  H5T_class_t kind;
  hssize_t    count = -1;
  PetscBool   ok    = PETSC_FALSE;

  if (H5Aexists(loc, name) <= 0 || (attr = H5Aopen(loc, name, H5P_DEFAULT)) < 0) return PETSC_FALSE;
  if ((space = H5Aget_space(attr)) >= 0 && (atype = H5Aget_type(attr)) >= 0) {
    kind  = H5Tget_class(atype);
    count = H5Sget_simple_extent_npoints(space);
    if ((kind == H5T_INTEGER || kind == H5T_FLOAT) && H5Sget_simple_extent_ndims(space) <= 1 && count >= 1 && count <= max) {
      if (kind == H5T_FLOAT && H5Tequal(type, H5T_NATIVE_LLONG) > 0) {
        double whole[3];
        ok = (PetscBool)(count <= 3 && H5Aread(attr, H5T_NATIVE_DOUBLE, whole) >= 0);
        for (hssize_t k = 0; ok && k < count; k++) {
          ok                      = (PetscBool)(whole[k] == PetscFloorReal(whole[k]) && PetscAbsReal(whole[k]) < 9e18);
          ((long long *)value)[k] = ok ? (long long)whole[k] : 0;
        }
      } else
        ok = (PetscBool)(H5Aread(attr, type, value) >= 0);
    }
  }
  if (atype >= 0) H5Tclose(atype);
  if (space >= 0) H5Sclose(space);
  H5Aclose(attr);
  if (n) *n = ok ? (int)count : 0;
  return ok;
}

/* One number; false unless the attribute holds exactly one. */
PETSC_INTERN PetscBool GFH5ReadScalar(hid_t loc, const char name[], hid_t type, void *value)
{
  int n;
  return (PetscBool)(GFH5ReadNumbers(loc, name, type, 1, value, &n) && n == 1);
}

/* A fixed or variable length string attribute, truncated to len - 1 characters; false when absent or not a string. */
PETSC_INTERN PetscBool GFH5ReadString(hid_t loc, const char name[], char value[], size_t len)
{
  hid_t     attr, space, atype, mem = -1;
  PetscBool ok = PETSC_FALSE;

  value[0] = 0;
  if (H5Aexists(loc, name) <= 0 || (attr = H5Aopen(loc, name, H5P_DEFAULT)) < 0) return PETSC_FALSE;
  space = H5Aget_space(attr);
  atype = H5Aget_type(attr);
  if (space >= 0 && atype >= 0 && H5Sget_simple_extent_npoints(space) == 1 && H5Tget_class(atype) == H5T_STRING && (mem = H5Tcopy(H5T_C_S1)) >= 0) {
    if (H5Tis_variable_str(atype) > 0) {
      char *s = NULL;
      if (H5Tset_size(mem, H5T_VARIABLE) >= 0 && H5Aread(attr, mem, &s) >= 0 && s) {
        snprintf(value, len, "%s", s);
        ok = PETSC_TRUE;
      }
      if (s) H5free_memory(s);
    } else {
      const size_t size = H5Tget_size(atype);
      char        *buffer;
      if (size > 0 && size < ((size_t)1 << 24) && (buffer = (char *)calloc(size + 1, 1))) {
        if (H5Tset_size(mem, size) >= 0 && H5Tset_strpad(mem, H5T_STR_NULLTERM) >= 0 && H5Aread(attr, mem, buffer) >= 0) {
          snprintf(value, len, "%s", buffer);
          ok = PETSC_TRUE;
        }
        free(buffer);
      }
    }
    H5Tclose(mem);
  }
  if (atype >= 0) H5Tclose(atype);
  if (space >= 0) H5Sclose(space);
  H5Aclose(attr);
  return ok;
}

/* A scalar (n = 0) or 1D attribute of n values of type; negative on failure. */
PETSC_INTERN herr_t GFH5WriteAttribute(hid_t loc, const char name[], hid_t type, hsize_t n, const void *value)
{
  hid_t  space = n ? H5Screate_simple(1, &n, NULL) : H5Screate(H5S_SCALAR), attr = -1;
  herr_t status = -1;

  if (space >= 0) attr = H5Acreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  if (attr >= 0) status = H5Awrite(attr, type, value);
  if (attr >= 0 && H5Aclose(attr) < 0) status = -1;
  if (space >= 0) H5Sclose(space);
  return status;
}

/* A fixed-length, NUL-terminated string attribute (as the PDE snapshots write theirs). */
PETSC_INTERN herr_t GFH5WriteString(hid_t loc, const char name[], const char value[])
{
  hid_t  type   = H5Tcopy(H5T_C_S1);
  herr_t status = -1;

  if (type < 0) return -1;
  if (H5Tset_size(type, strlen(value) + 1) >= 0 && H5Tset_strpad(type, H5T_STR_NULLTERM) >= 0) status = GFH5WriteAttribute(loc, name, type, 0, value);
  H5Tclose(type);
  return status;
}
