"""The public JSON of orders and their trails: one place for the HTTP answers and the read
model's documents alike. Imports the domain only."""
