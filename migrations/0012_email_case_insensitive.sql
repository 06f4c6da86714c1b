DROP INDEX `users_realm_email_unique`;--> statement-breakpoint
CREATE UNIQUE INDEX `users_realm_email_lower_unique` ON `users` (`realm`,lower("email"));