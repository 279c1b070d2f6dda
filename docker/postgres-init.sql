-- The group coordinators' own database (the controller uses "sluice").
CREATE DATABASE sluice_groups OWNER sluice;
