CREATE TABLE `admin_api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`realm` text NOT NULL,
	`name` text NOT NULL,
	`key_hash` text NOT NULL,
	`prefix` text NOT NULL,
	`scopes` text DEFAULT '[]' NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer,
	`last_used_at` integer,
	`revoked_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `admin_api_keys_hash_unique` ON `admin_api_keys` (`key_hash`);--> statement-breakpoint
CREATE INDEX `admin_api_keys_realm_idx` ON `admin_api_keys` (`realm`);--> statement-breakpoint
CREATE TABLE `audit_events` (
	`id` text PRIMARY KEY NOT NULL,
	`realm` text NOT NULL,
	`type` text NOT NULL,
	`user_id` text,
	`actor_type` text NOT NULL,
	`actor_id` text,
	`client_ip` text,
	`user_agent` text,
	`outcome` text NOT NULL,
	`detail` text DEFAULT '{}' NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `audit_events_realm_time_idx` ON `audit_events` (`realm`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `audit_events_realm_user_idx` ON `audit_events` (`realm`,`user_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `audit_events_realm_type_idx` ON `audit_events` (`realm`,`type`,`created_at`);--> statement-breakpoint
CREATE INDEX `audit_events_created_idx` ON `audit_events` (`created_at`);--> statement-breakpoint
ALTER TABLE `realms` ADD `display_name` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `realms` ADD `settings` text DEFAULT '{}' NOT NULL;--> statement-breakpoint
ALTER TABLE `realms` ADD `deleted_at` integer;--> statement-breakpoint
ALTER TABLE `refresh_tokens` ADD `client_ip` text;--> statement-breakpoint
ALTER TABLE `refresh_tokens` ADD `user_agent` text;