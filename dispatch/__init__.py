"""Send the nearest available staff member from a home-care service station to a resident in trouble.

``places`` holds the records of people and places and the tables of their kinds; ``ranking`` is the
pure choice of who goes (estimated arrival against the 15/30-minute promise); ``people`` reads and
writes stations, staff, shifts and resident profiles; ``flow`` records a dispatch stage by stage;
``visits`` plans welfare visits by risk class and when a resident's daily figures worsen.
"""
