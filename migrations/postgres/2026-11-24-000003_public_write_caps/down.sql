DROP TABLE public_write_caps;
